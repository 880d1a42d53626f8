from helpdesk_common.service import run

from .app import create_app
from .settings import EmailIngestSettings

settings = EmailIngestSettings()
run(create_app(settings), settings)
