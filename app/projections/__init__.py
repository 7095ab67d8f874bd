"""Read models built from the event log."""

from app.projections.access import Access
from app.projections.alerts import Alerts, WatchedFacts
from app.projections.anomalies import Anomalies
from app.projections.audit import AuditTrail
from app.projections.base import Projection
from app.projections.commands import DeviceCommands
from app.projections.compliance import TrainingRecords
from app.projections.course_reminders import CourseReminders
from app.projections.device_contacts import DeviceContacts
from app.projections.directory import Directory
from app.projections.evidence import Evidence, PhotoIndex, PhotoPurges
from app.projections.live import LiveAttendance
from app.projections.phones import PhoneCheckIns
from app.projections.plans import Plans
from app.projections.reports import SavedReports


def all_projections() -> list[Projection]:
    """Every projection, in dependency order: the directory first."""
    return [
        Directory(),
        Access(),
        LiveAttendance(),
        Evidence(),
        PhotoIndex(),
        PhotoPurges(),
        PhoneCheckIns(),
        Plans(),
        TrainingRecords(),
        Alerts(),
        WatchedFacts(),
        DeviceCommands(),
        DeviceContacts(),
        AuditTrail(),
        Anomalies(),
        SavedReports(),
        CourseReminders(),
    ]
