from helpdesk_common.service import run

from .app import create_app
from .settings import NotifierSettings

settings = NotifierSettings()
run(create_app(settings), settings)
