"""A small demo shop backend on the console itself (orders, refunds, addresses) that the demo
tools call over HTTP, so their timeouts, retries and idempotency are real."""
