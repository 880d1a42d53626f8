from helpdesk_common.service import run

from .app import create_app
from .settings import GatewaySettings

settings = GatewaySettings()
run(create_app(settings), settings)
