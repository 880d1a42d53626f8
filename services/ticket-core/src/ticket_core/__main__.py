import gc

from helpdesk_common.service import run

from .app import create_app
from .settings import TicketCoreSettings

settings = TicketCoreSettings()
app = create_app(settings)
# Batch ingestion allocates many short-lived objects (records, row dicts, events); the
# collector's default thresholds ran a collection every 700 allocations and walked the
# whole long-lived heap (the app, SQLAlchemy and pydantic schemas) again and again.
# Freeze what start-up built and collect the young generation less often.
gc.freeze()
gc.set_threshold(50_000, 20, 100)
run(app, settings)
