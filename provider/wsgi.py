"""gunicorn entry point: `gunicorn 'provider.wsgi:app'` (settings from config.ini + environment)."""
from provider.app import create_app

app = create_app()
