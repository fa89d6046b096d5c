"""A project's meta.yaml reading is kept between processes (fgc/project/meta.py) and used only
while what it read is as it was: each case changes one input and checks that the project is read
anew, and reads what the change says."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from fgc.project import load_project
from fgc.project import meta as meta_module


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("FGC_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "forgather_workspace" / "meta_defaults.yaml", """
        searchdir:
        -- block searchdir
            - "{{ joinpath(project_dir, 'templates') }}"
        -- endblock searchdir
        -- block configs
        -- endblock configs
    """)
    proj = tmp_path / "proj"
    write(proj / "meta.yaml", """
        -- extends "meta_defaults.yaml"
        -- block configs
        name: "First"
        default_config: "a.yaml"
        << endblock configs
    """)
    write(proj / "templates" / "configs" / "a.yaml", "x: 1\n")
    return proj


@pytest.fixture
def renders(monkeypatch) -> list[Path]:
    """The project directories whose meta.yaml was rendered (not taken from the kept reading)."""
    seen: list[Path] = []
    real = meta_module._render

    def counting(project_dir, *args):
        seen.append(project_dir)
        return real(project_dir, *args)

    monkeypatch.setattr(meta_module, "_render", counting)
    return seen


def name_of(project: Path) -> str | None:
    loaded = load_project(project)
    assert loaded.value is not None, loaded.diagnostics
    return loaded.value.meta.name


def test_a_second_reading_is_kept(project, renders):
    assert name_of(project) == "First"
    assert name_of(project) == "First"
    assert len(renders) == 1


def test_an_edited_meta_yaml_is_read_again(project, renders):
    name_of(project)
    (project / "meta.yaml").write_text((project / "meta.yaml").read_text().replace("First", "Second"))
    assert name_of(project) == "Second"
    assert len(renders) == 2


def test_an_edited_workspace_template_is_read_again(project, renders):
    name_of(project)
    defaults = project.parent / "forgather_workspace" / "meta_defaults.yaml"
    defaults.write_text(defaults.read_text().replace("-- block configs\n", "-- block configs\nname: \"Workspace\"\n"))
    load_project(project)
    assert len(renders) == 2


def test_a_template_that_now_shadows_the_one_read(project, renders):
    name_of(project)
    # meta.yaml's own directory comes first on its search path: a meta_defaults.yaml there wins
    write(project / "meta_defaults.yaml", """
        searchdir: []
        -- block configs
        -- endblock configs
    """)
    assert name_of(project) == "First"
    assert len(renders) == 2
    assert load_project(project).value.meta.searchdir == ()


def test_a_searchdir_created_later_is_seen(project, renders):
    (project / "templates" / "configs" / "a.yaml").unlink()
    (project / "templates" / "configs").rmdir()
    (project / "templates").rmdir()
    assert load_project(project).value.meta.searchdir == ()
    write(project / "templates" / "configs" / "a.yaml", "x: 1\n")
    assert load_project(project).value.meta.searchdir == (project / "templates",)
    assert len(renders) == 1  # the reading is the same; only the directory's existence changed


def test_another_working_directory_reads_again(project, renders, monkeypatch):
    name_of(project)
    monkeypatch.chdir(project)
    name_of(project)
    assert len(renders) == 2


def test_a_meta_yaml_that_reads_the_clock_is_never_kept(project, renders):
    text = (project / "meta.yaml").read_text().replace('name: "First"', 'name: "First {{ now().year }}"')
    (project / "meta.yaml").write_text(text)
    name_of(project)
    name_of(project)
    assert len(renders) == 2


def test_diagnostics_are_kept_with_the_reading(project, renders):
    (project / "meta.yaml").write_text((project / "meta.yaml").read_text().replace('name: "First"', "name: [1, 2]"))
    first = load_project(project)
    second = load_project(project)
    assert len(renders) == 1
    assert [d.code for d in first.diagnostics] == [d.code for d in second.diagnostics] == ["FG0803"]
    assert first.value is None and second.value is None
