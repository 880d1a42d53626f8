from helpdesk_common.service import run

from .app import create_app
from .settings import MessengerIngestSettings

settings = MessengerIngestSettings()
run(create_app(settings), settings)
