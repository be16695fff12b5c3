"""The Lambda service's own APIs: the Invoke API (`api.py`), asynchronous invocation as Lambda runs it
(`asynchronous.py`) and its destinations (`destinations.py`); `logtail.py` gives an invocation's log."""
