from helpdesk_common.service import run

from .app import create_app
from .settings import TelephonySettings

settings = TelephonySettings()
run(create_app(settings), settings)
