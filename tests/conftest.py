import os
import sys

import hypothesis

# Make tests/ importable as a folder of helper modules (cases, reference, ...).
sys.path.insert(0, os.path.dirname(__file__))

hypothesis.settings.register_profile("default", deadline=None, max_examples=60)
hypothesis.settings.register_profile("ci", deadline=None, max_examples=60, derandomize=True)
hypothesis.settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
