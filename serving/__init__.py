"""Serving a finished run over HTTP (`python -m serving`, `make serve`): the endpoints on FastAPI and uvicorn
(`server.py`), what a request may hold and the error for each way it can be wrong (`limits.py`), concurrent requests
batched through one model (`batching.py`), and the Gradio demo page, which also runs as a Space (`app.py`)."""
