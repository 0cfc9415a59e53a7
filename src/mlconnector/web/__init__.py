"""The web console: a server-rendered window on the store for the people who handle exceptions.

`queries` holds every read (one function per screen), `app` the routes, `users` the sign-in accounts; FastAPI is
imported only when the console runs, so the rest of the CLI stays quick to start.
"""
