import gzip
import zlib

from levqor.lib.splice import SplicedPage

FOOTER = b"<footer>" + b"x" * 300 + b'<input value="HOLE"></html>'
PAGE = b"<html><p>" + b"status " * 2000 + b'<input value="HOLE"></p>' + FOOTER


def test_it_fills_every_hole_and_every_client_inflates_one_document():
    page = SplicedPage.cut(PAGE, b"HOLE")
    for value in (b"a1" * 32, b"", b"other"):
        expected = PAGE.replace(b"HOLE", value)
        assert gzip.decompress(page.gzip(value)) == expected
        inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
        assert inflater.decompress(page.gzip(value)) == expected and inflater.eof
        assert page.body(value) == expected


def test_it_stores_the_per_visitor_value_uncompressed_so_its_size_reveals_nothing():
    page = SplicedPage.cut(PAGE, b"HOLE")
    # A BREACH guess that repeats the page compresses no better than noise.
    repeating, noise = b"status " * 9 + b"s", b"qwxzjkvbnmpoiuytrewqa" * 3 + b"q"
    assert len(repeating) == len(noise)
    assert len(page.gzip(repeating)) == len(page.gzip(noise))
    assert noise in page.gzip(noise)
    assert len(page.gzip(b"t" * 64)) < len(PAGE) // 10


def test_a_page_without_a_hole_is_one_piece():
    page = SplicedPage.cut(PAGE, None)
    assert page.holes == 0 and gzip.decompress(page.gzip()) == PAGE
