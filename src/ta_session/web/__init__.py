"""The web channel (``ta serve``): a page and an HTTP + WebSocket API over the session service.

Modules: ``auth`` (token, Host and Origin checks), ``api`` (how endpoints are declared and
bodies checked), ``routes`` (the endpoints), ``openapi`` (their document), ``terminal`` (the
WebSocket terminal bridge), ``events`` (the live session list), ``app`` (all of it together),
``server`` (binding and running), ``assets`` (the page's files). Starlette and uvicorn are the
optional extra ``web``; nothing else imports this package.
"""
