"""Which folders install as which packages; everything else is declared in pyproject.toml.

The design card's top-level folders `cli/` and `export/` install inside the one namespace, as
`mtdnn_keras.cli` and `mtdnn_keras.export`. pyproject.toml's `packages.find` names packages after
their folders and cannot rename one, so the packages are found here: every folder with an
`__init__.py` under these three, with no list to keep up to date.
"""

from setuptools import find_packages, setup

FOLDERS = {"mtdnn_keras": "mtdnn_keras", "mtdnn_keras.cli": "cli", "mtdnn_keras.export": "export"}

setup(
    package_dir=FOLDERS,
    packages=[
        package
        for name, folder in FOLDERS.items()
        for package in [name, *(f"{name}.{sub}" for sub in find_packages(where=folder))]
    ],
)
