from __future__ import annotations

import io
import struct
import subprocess
import sys
import warnings
import zlib
from pathlib import Path

import pytest
from PIL import Image

from app.core.images import (
    MAX_IMAGE_BYTES,
    ImageError,
    PreparedImage,
    data_url_bytes,
    image_from_url,
    prepare_image_bytes,
    prepare_image_file,
)
from app.core.messages import Detail
from app.core.tokens import image_tokens

GPS_MARKER = "Chatdesk-GPS-test-area"


def test_preparing_images_does_not_import_the_token_counter() -> None:
    """`images` and `tokens` share the API's image rules without importing each other."""
    script = "import sys; import app.core.images; print('app.core.tokens' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def _encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _sent(prepared: PreparedImage) -> tuple[str, bytes, Image.Image]:
    """The MIME type, bytes and fully decoded image of what would be sent."""
    mime, data = data_url_bytes(prepared.part.url)
    image = Image.open(io.BytesIO(data))
    image.load()
    return mime, data, image


def _photo(width: int, height: int) -> Image.Image:
    """A photo-like image: thousands of colours, so it is sent as JPEG."""
    across = Image.linear_gradient("L").rotate(90).resize((width, height))
    down = Image.linear_gradient("L").resize((width, height))
    return Image.merge("RGB", (across, down, Image.blend(across, down, 0.5)))


def _exif_with_gps(orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "PhoneMaker"
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (48.0, 51.0, 29.0)
    gps[0x1C] = GPS_MARKER  # GPSAreaInformation: easy to look for in the bytes
    return exif


def _png_claiming_size(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims `width`×`height`, as a decompression bomb would."""
    data = bytearray(_encode(Image.new("L", (1, 1)), "PNG"))
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


@pytest.mark.parametrize(
    ("fmt", "mime"),
    [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("GIF", "image/gif"), ("WEBP", "image/webp")],
)
def test_small_clean_images_are_sent_unchanged(tmp_path: Path, fmt: str, mime: str) -> None:
    """An image already small enough and without metadata goes out byte for byte."""
    original = _encode(_photo(300, 200), fmt)
    prepared = prepare_image_file(_write(tmp_path, f"small.{fmt.lower()}", original), Detail.HIGH)
    sent_mime, sent, image = _sent(prepared)
    assert prepared.unchanged
    assert sent == original
    assert sent_mime == mime
    assert (prepared.part.width, prepared.part.height) == (300, 200) == image.size
    assert prepared.original_format == prepared.sent_format == fmt
    assert prepared.part.detail is Detail.HIGH
    assert prepared.part.source == str(tmp_path / f"small.{fmt.lower()}")
    assert prepared.notes == ()


@pytest.mark.parametrize(
    ("detail", "size", "tokens"),
    [
        (Detail.HIGH, (1152, 768), 1105),
        (Detail.AUTO, (1152, 768), 1105),
        (Detail.LOW, (512, 341), 85),
    ],
)
def test_large_photo_is_downscaled_for_detail(
    tmp_path: Path, detail: Detail, size: tuple[int, int], tokens: int
) -> None:
    """A big photo is sent at the size the API would use, billed the same tokens as the original."""
    path = _write(tmp_path, "photo.jpg", _encode(_photo(3000, 2000), "JPEG", quality=90))
    prepared = prepare_image_file(path, detail)
    _, sent, image = _sent(prepared)
    assert image.size == size == (prepared.part.width, prepared.part.height)
    assert image.format == "JPEG" and image.mode == "RGB"
    assert prepared.sent_bytes == len(sent) < prepared.original_bytes
    assert (prepared.original_width, prepared.original_height) == (3000, 2000)
    assert not prepared.unchanged
    assert any("downscaled from 3000×2000" in note for note in prepared.notes)
    assert prepared.part.detail is detail
    assert image_tokens(*image.size, detail, "gpt-4o") == tokens
    assert image_tokens(3000, 2000, detail, "gpt-4o") == tokens


def test_transparency_is_kept_as_png(tmp_path: Path) -> None:
    """An image with real transparency is sent as PNG with its alpha channel."""
    image = _photo(1600, 1200).convert("RGBA")
    image.putalpha(Image.linear_gradient("L").resize((1600, 1200)))
    prepared = prepare_image_bytes(_encode(image, "WEBP"), Detail.HIGH, "sticker.webp")
    mime, _, sent = _sent(prepared)
    assert mime == "image/png" and sent.mode == "RGBA"
    assert sent.size == (1024, 768)
    assert sent.getchannel("A").getextrema() == (0, 255)
    assert "converted from WebP to PNG" in prepared.notes


def test_opaque_alpha_many_colours_becomes_jpeg(tmp_path: Path) -> None:
    """An RGBA image that is fully opaque and photo-like is sent as a compact JPEG."""
    prepared = prepare_image_bytes(
        _encode(_photo(2400, 1600).convert("RGBA"), "PNG"), Detail.HIGH, "shot.png"
    )
    mime, _, sent = _sent(prepared)
    assert mime == "image/jpeg" and sent.mode == "RGB"


def test_few_colour_png_stays_png(tmp_path: Path) -> None:
    """A diagram-like PNG with few colours is re-encoded as PNG, not blurred into JPEG."""
    image = Image.new("RGB", (3000, 2000), "white")
    image.paste((200, 30, 30), (0, 0, 1500, 1000))
    image.paste((30, 30, 200), (1500, 1000, 3000, 2000))
    prepared = prepare_image_bytes(_encode(image, "PNG"), Detail.HIGH, "diagram.png")
    mime, _, sent = _sent(prepared)
    assert mime == "image/png"
    assert sent.size == (1152, 768)
    assert sent.getpixel((10, 10)) == (200, 30, 30)


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    """A phone photo stored sideways (EXIF orientation 6) is sent upright."""
    raw = Image.new("RGB", (400, 300), (220, 0, 0))
    raw.paste((0, 0, 220), (200, 0, 400, 300))  # stored: red left, blue right
    exif = Image.Exif()
    exif[0x0112] = 6  # display after turning 90° clockwise: red on top
    prepared = prepare_image_bytes(_encode(raw, "JPEG", exif=exif), Detail.HIGH, "IMG_0001.JPG")
    _, _, sent = _sent(prepared)
    assert sent.size == (300, 400)
    assert (prepared.original_width, prepared.original_height) == (300, 400)
    top, bottom = sent.getpixel((150, 20)), sent.getpixel((150, 380))
    assert isinstance(top, tuple) and isinstance(bottom, tuple)
    assert top[0] > 150 > top[2]
    assert bottom[2] > 150 > bottom[0]
    assert 0x0112 not in sent.getexif()
    assert any("upright" in note for note in prepared.notes)


def test_large_sideways_photo_is_rotated_and_downscaled() -> None:
    """Orientation and downscaling combine: a sideways 4032×3024 photo goes out as 768×1024."""
    data = _encode(_photo(4032, 3024), "JPEG", exif=_exif_with_gps(orientation=6))
    prepared = prepare_image_bytes(data, Detail.AUTO, "IMG_0002.JPG")
    _, _, sent = _sent(prepared)
    assert sent.size == (768, 1024) == (prepared.part.width, prepared.part.height)
    assert "downscaled from 3024×4032 to 768×1024" in prepared.notes


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_gps_and_other_metadata_are_never_sent(fmt: str) -> None:
    """Location data is removed even when the image needs no resizing."""
    data = _encode(_photo(320, 240), fmt, exif=_exif_with_gps())
    assert GPS_MARKER.encode() in data
    prepared = prepare_image_bytes(data, Detail.HIGH, f"holiday.{fmt.lower()}")
    _, sent, image = _sent(prepared)
    assert not prepared.unchanged
    assert GPS_MARKER.encode() not in sent
    assert b"PhoneMaker" not in sent
    assert len(image.getexif()) == 0
    assert image.size == (320, 240)
    assert "location (GPS) and other metadata removed" in prepared.notes


def test_jpeg_comment_is_removed() -> None:
    """Metadata other than EXIF (a JPEG comment) is dropped too."""
    data = _encode(_photo(320, 240), "JPEG", comment=b"taken at 12 Secret Street")
    prepared = prepare_image_bytes(data, Detail.HIGH, "note.jpg")
    _, sent, _ = _sent(prepared)
    assert b"Secret Street" not in sent
    assert "metadata removed" in prepared.notes


def test_icc_profile_is_kept_when_reencoding() -> None:
    """Colour data survives re-encoding, so wide-gamut photos keep their colours."""
    profile = b"\x00" * 128 + b"fake-icc-profile"
    data = _encode(_photo(3000, 2000), "JPEG", icc_profile=profile)
    _, _, sent = _sent(prepare_image_bytes(data, Detail.HIGH, "p3.jpg"))
    assert sent.info.get("icc_profile") == profile


def test_animated_gif_sends_first_frame() -> None:
    """An animated GIF is sent as its first frame, and the user is told."""
    frames = [Image.new("RGB", (120, 80), colour) for colour in ("red", "lime", "blue")]
    data = _encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)
    prepared = prepare_image_bytes(data, Detail.HIGH, "dance.gif")
    mime, _, sent = _sent(prepared)
    assert mime == "image/png"
    assert getattr(sent, "n_frames", 1) == 1
    assert sent.convert("RGB").getpixel((5, 5)) == (255, 0, 0)
    assert "animated GIF: first frame sent" in prepared.notes


def test_still_gif_with_transparency_is_sent_unchanged() -> None:
    """A single-frame GIF is what the API takes: it is not touched."""
    image = Image.new("P", (64, 64), 0)
    image.putpalette([255, 255, 255, 255, 0, 0] + [0] * 762)
    image.paste(1, (16, 16, 48, 48))
    data = _encode(image, "GIF", transparency=0)
    prepared = prepare_image_bytes(data, Detail.LOW, "icon.gif")
    assert prepared.unchanged
    assert data_url_bytes(prepared.part.url) == ("image/gif", data)


def test_cmyk_and_16_bit_images_are_converted_sensibly() -> None:
    """Unusual modes become RGB or 8-bit grey without clipping or colour swaps."""
    cmyk = prepare_image_bytes(
        _encode(Image.new("CMYK", (3000, 2000), (0, 255, 255, 0)), "JPEG"), Detail.HIGH, "c.jpg"
    )
    _, _, sent = _sent(cmyk)
    assert sent.mode == "RGB"
    red = sent.getpixel((10, 10))
    assert isinstance(red, tuple) and red[0] > 200 > max(red[1:])

    grey16 = prepare_image_bytes(
        _encode(Image.new("I;16", (3000, 2000), 40_000), "PNG"), Detail.HIGH, "scan.png"
    )
    _, _, sent = _sent(grey16)
    assert sent.mode == "L"
    assert sent.getpixel((10, 10)) == 40_000 // 256


@pytest.mark.parametrize(
    ("content", "kind"),
    [
        (_encode(Image.new("RGB", (10, 10)), "BMP"), "BMP"),
        (_encode(Image.new("RGB", (10, 10)), "TIFF"), "TIFF"),
        (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>', "SVG"),
    ],
)
def test_other_formats_renamed_png_are_refused(tmp_path: Path, content: bytes, kind: str) -> None:
    """The content decides: a BMP, TIFF or SVG named .png is refused, naming what is supported."""
    path = _write(tmp_path, "looks-fine.png", content)
    with pytest.raises(ImageError) as caught:
        prepare_image_file(path, Detail.AUTO)
    assert kind in caught.value.headline
    assert "looks-fine.png" in caught.value.headline
    assert "PNG, JPEG, GIF and WebP" in caught.value.remedy
    assert caught.value.source == str(path)


def test_text_file_renamed_png_is_refused(tmp_path: Path) -> None:
    """A text file with an image extension is refused as not an image."""
    path = _write(tmp_path, "notes.png", b"just some notes\n")
    with pytest.raises(ImageError, match=r"“notes\.png” is not a PNG, JPEG, GIF or WebP image"):
        prepare_image_file(path, Detail.AUTO)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "GIF"])
def test_truncated_images_are_refused(tmp_path: Path, fmt: str) -> None:
    """Half a file is caught by the full decode and refused as damaged."""
    data = _encode(_photo(600, 400), fmt)
    path = _write(tmp_path, f"half.{fmt.lower()}", data[: len(data) // 2])
    with pytest.raises(ImageError, match="damaged or incomplete") as caught:
        prepare_image_file(path, Detail.HIGH)
    assert f"half.{fmt.lower()}" in caught.value.headline


def test_empty_file_is_refused(tmp_path: Path) -> None:
    """A 0-byte file says it is empty."""
    with pytest.raises(ImageError, match=r"“blank\.png” is empty"):
        prepare_image_file(_write(tmp_path, "blank.png", b""), Detail.AUTO)
    with pytest.raises(ImageError, match="empty"):
        prepare_image_bytes(b"", Detail.AUTO, "clipboard")


def test_folder_and_missing_file_have_their_own_messages(tmp_path: Path) -> None:
    """A folder and a missing file are told apart from bad images."""
    (tmp_path / "Pictures").mkdir()
    with pytest.raises(ImageError, match="is a folder"):
        prepare_image_file(tmp_path / "Pictures", Detail.AUTO)
    with pytest.raises(ImageError, match=r"“gone\.jpg” was not found"):
        prepare_image_file(tmp_path / "gone.jpg", Detail.AUTO)


def test_file_over_20_mb_is_refused_without_reading_it(tmp_path: Path) -> None:
    """A file over the limit is refused with its size and the limit."""
    path = tmp_path / "huge.png"
    with path.open("wb") as handle:
        handle.write(_encode(Image.new("L", (1, 1)), "PNG"))
        handle.truncate(25 * 1024 * 1024)  # sparse: costs no disk or time
    with pytest.raises(ImageError) as caught:
        prepare_image_file(path, Detail.AUTO)
    assert "“huge.png” is too large (25.0 MB)" in caught.value.headline
    assert "20 MB" in caught.value.remedy


def test_bytes_over_20_mb_are_refused() -> None:
    """Pasted data over the limit is refused the same way."""
    data = b"\x89PNG\r\n\x1a\n" + bytes(MAX_IMAGE_BYTES)
    with pytest.raises(ImageError, match="too large"):
        prepare_image_bytes(data, Detail.AUTO, "pasted image")


@pytest.mark.parametrize("side", [10_000, 20_000])  # Pillow would warn, then raise
def test_decompression_bombs_are_refused_without_warnings(side: int) -> None:
    """A header claiming too many pixels is refused clearly, with no Pillow warning."""
    data = _png_claiming_size(side, side)
    with warnings.catch_warnings(record=True) as caught_warnings:
        warnings.simplefilter("always")
        with pytest.raises(ImageError, match="too many pixels") as caught:
            prepare_image_bytes(data, Detail.AUTO, "bomb.png")
    assert f"{side}×{side}" in caught.value.headline
    assert "megapixels" in caught.value.remedy
    assert caught_warnings == []


def test_web_image_is_passed_through_unfetched() -> None:
    """An https address becomes an image part the API fetches itself, size unknown."""
    part = image_from_url("  https://example.com/cat.png  ", Detail.LOW)
    assert part.url == "https://example.com/cat.png"
    assert part.is_remote and part.detail is Detail.LOW
    assert (part.width, part.height) == (None, None)
    assert image_tokens(part.width, part.height, Detail.HIGH, "gpt-4o") == 85 + 8 * 170


@pytest.mark.parametrize(
    "url",
    [
        "file:///home/me/cat.png",
        "ftp://example.com/cat.png",
        "data:image/png;base64,AAAA",
        "/home/me/cat.png",
        "javascript:alert(1)",
        "https://",
    ],
)
def test_non_web_addresses_are_refused(url: str) -> None:
    """Anything but an http(s) address is refused, suggesting to attach files instead."""
    with pytest.raises(ImageError, match="Only web images can be linked") as caught:
        image_from_url(url, Detail.AUTO)
    assert "attach" in caught.value.remedy
