"""Entry point of the `mlops` component package (PulumiPlugin.yaml): the engine runs this file to serve the
components listed in mlops_component.tools.provider.HOSTED. The bundled program is the root `__main__.py`."""

from mlops_component.tools.provider import serve

if __name__ == "__main__":
    serve()
