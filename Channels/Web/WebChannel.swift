// WebChannel: the web chat widget adapter and its static files.
