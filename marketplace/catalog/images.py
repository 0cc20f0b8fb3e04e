"""Checks for uploaded screenshots: by their content, never by their file name."""

import warnings
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

MAX_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 25_000_000  # 25 megapixels: more than any screenshot needs
MAX_SIDE = 10_000
ALLOWED_FORMATS = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp"}


@dataclass(frozen=True)
class CheckedImage:
    extension: str  # matches the content, whatever the uploaded file was called
    width: int
    height: int


def validate_image_upload(upload: UploadedFile) -> CheckedImage:
    """Raise ValidationError with a clear message unless this is a sane PNG, JPEG or WebP.

    Returns what the content is. The header is read first, so a
    decompression bomb is refused by its declared size before any pixel is decoded.
    """
    if upload.size > MAX_BYTES:
        raise ValidationError(
            _("The image is %(size).1f MB; the limit is %(limit)d MB.")
            % {"size": upload.size / 1024 / 1024, "limit": MAX_BYTES // 1024 // 1024},
            code="image_too_large",
        )
    upload.seek(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(upload) as image:
                kind = image.format
                width, height = image.size
                if width * height > MAX_PIXELS or max(width, height) > MAX_SIDE:
                    raise ValidationError(
                        _(
                            "The image is %(width)dx%(height)d pixels; the limit is "
                            "%(limit)d megapixels and %(side)d pixels a side."
                        )
                        % {
                            "width": width,
                            "height": height,
                            "limit": MAX_PIXELS // 1_000_000,
                            "side": MAX_SIDE,
                        },
                        code="image_too_many_pixels",
                    )
                if kind not in ALLOWED_FORMATS:
                    raise ValidationError(
                        _("Upload a PNG, JPEG or WebP image, not %(kind)s.") % {"kind": kind},
                        code="image_format",
                    )
                image.verify()
            upload.seek(0)
            with Image.open(upload) as image:
                image.load()  # decode every pixel: truncated or corrupt files fail here
    except ValidationError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ValidationError(
            _("The image declares far more pixels than a screenshot has; it was refused."),
            code="image_too_many_pixels",
        ) from None
    except UnidentifiedImageError:
        raise ValidationError(
            _("This file is not an image we can read (PNG, JPEG or WebP)."), code="not_an_image"
        ) from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ValidationError(
            _("This image is damaged and cannot be read: %(error)s") % {"error": exc},
            code="image_damaged",
        ) from None
    finally:
        upload.seek(0)
    return CheckedImage(ALLOWED_FORMATS[kind], width, height)
