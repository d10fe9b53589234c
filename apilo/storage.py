"""Static files in production: hashed names (cached for ever) and gzip, served by WhiteNoise.

Brotli is skipped: on this app's 1,000 static files (Swagger UI and ReDoc included) it made `collectstatic`, which
the web container runs at every start, take minutes instead of seconds, for a back-office used on a local network.
"""

from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticFilesStorage(CompressedManifestStaticFilesStorage):
    def create_compressor(self, **kwargs):
        kwargs["use_brotli"] = False
        return super().create_compressor(**kwargs)
