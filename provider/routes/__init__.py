"""HTTP layer: parse the request, call one service, shape the reply. No rules live here."""
