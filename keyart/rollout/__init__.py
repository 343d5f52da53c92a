"""Moving a deployment between stacks safely: one comparison rule (compare.py) shared by
offline validation (validate.py), in-app differences (schema stackDiff) and shadow traffic
(shadow.py), and feature-flag routing of queries to backends (routing.py, flags.py)."""
