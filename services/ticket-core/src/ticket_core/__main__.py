from helpdesk_common.service import run

from .app import create_app
from .settings import TicketCoreSettings

settings = TicketCoreSettings()
run(create_app(settings), settings)
