"""Per-example run mode of the sphinx-gallery build (see ``conf.py``).

sphinx-gallery calls :func:`example_mode` before and after each example (it is listed in
``reset_modules`` by its qualified name, so the configuration stays picklable). The slow
examples run in their reduced mode, ``SKLIRL_EXAMPLE_FAST=1``, unless the build sets
``SKLIRL_GALLERY_FULL=1``; the others run as written.
"""

import os

SLOW_EXAMPLES = ("plot_objectworld_evd", "plot_gail_cartpole", "plot_gymnasium_demos",
                 "plot_brand_choice")


def example_mode(gallery_conf, fname, when):
    """Set or clear ``SKLIRL_EXAMPLE_FAST`` for the example ``fname``."""
    stem = os.path.splitext(os.path.basename(fname))[0]
    fast = (when == "before" and stem in SLOW_EXAMPLES
            and os.environ.get("SKLIRL_GALLERY_FULL", "0") != "1")
    if fast:
        os.environ["SKLIRL_EXAMPLE_FAST"] = "1"
    else:
        os.environ.pop("SKLIRL_EXAMPLE_FAST", None)
