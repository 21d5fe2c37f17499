"""gunicorn entry point: `gunicorn 'provider.wsgi:app'` (settings from config.ini + environment)."""
import gc

from provider.app import create_app

app = create_app()
# Everything made while starting (modules, contract ABIs, web3's formatters: about 110,000
# objects) lives as long as the worker. Frozen out of the collector, a full collection no longer
# walks them: it took 50-90 ms, a stall that landed on whichever request allocated past the
# threshold (seen as 80-90 ms pauses in the access benchmark's load phase).
gc.freeze()
