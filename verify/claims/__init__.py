"""Built-in claims, one file per claim, discovered by :mod:`dln_verify.verify.registry`.

A module here is a claim file unless its name starts with ``_`` or ``template`` (the template,
:mod:`dln_verify.verify.claims.template_claim`, is a working claim that is not registered).
Adding a claim is adding a file: nothing to import or list by hand. :data:`CATALOGUE` only
fixes the order in which ``dln-verify list`` and the report show the claims; a claim missing
from it is shown after the listed ones.
"""

#: Catalogue order of the built-in claims (the only place it is declared).
CATALOGUE = (
    "gf-hypentropy",
    "gf-depth",
    "gf-limits",
    "gd-exact-bias",
    "gd-stepsize-order",
    "eos-sharpness",
    "sgd-vs-gd-sparsity",
    "large-step-sparsity",
    "sgf-effective-init",
    "momentum-invariant",
    "momentum-implicit-bias",
    "momentum-sparsity",
    "label-noise-lasso",
    "weight-decay-path",
    "lasso-path",
    "highdim-sgd",
    "mirror-horizon",
    "gd-max-margin",
    "saddle-to-saddle",
)
