"""The HTTP API: routes and models (app.py), data access (data_access.py), SQL (queries.py), auth (access.py)."""
