"""kubeling's command line: cluster lifecycle, chaos and offline image builds."""
