"""Rows of the differential test (tests/test_ad_differential.py) for mc.ad.decompositions."""

CASES = []
REFUSALS = []
