"""The demo enterprise: its data (`demo/data/*.toml`) and the weeks of simulated work.

`manage.py seed_demo` loads it. The apps never import this package (an import contract
holds that): the demo drives them only through their actions, as the portal does.
"""
