"""Read models built from the event log."""

from app.projections.anomalies import Anomalies
from app.projections.base import Projection
from app.projections.directory import Directory
from app.projections.evidence import Evidence, PhotoIndex
from app.projections.live import LiveAttendance
from app.projections.phones import PhoneCheckIns


def all_projections() -> list[Projection]:
    """Every projection, in dependency order: the directory first."""
    return [
        Directory(),
        LiveAttendance(),
        Evidence(),
        PhotoIndex(),
        PhoneCheckIns(),
        Anomalies(),
    ]
