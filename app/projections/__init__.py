"""Read models built from the event log."""

from app.projections.alerts import Alerts, WatchedFacts
from app.projections.base import Projection
from app.projections.commands import DeviceCommands
from app.projections.directory import Directory
from app.projections.evidence import Evidence, PhotoIndex
from app.projections.live import LiveAttendance
from app.projections.phones import PhoneCheckIns
from app.projections.plans import Plans


def all_projections() -> list[Projection]:
    """Every projection, in dependency order: the directory first."""
    return [
        Directory(),
        LiveAttendance(),
        Evidence(),
        PhotoIndex(),
        PhoneCheckIns(),
        Plans(),
        Alerts(),
        WatchedFacts(),
        DeviceCommands(),
    ]
