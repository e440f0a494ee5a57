"""Engineers name their service and its dependencies in their own language. Latin-script
letters become their plain ASCII spelling in every slug (the project's, and the runbook file
of each dependency); a name with no Latin letter at all gets a message asking for a slug,
showing the name as it was typed."""

from __future__ import annotations

import pytest

from support.links import broken_links
from support.project import ROOT, Project, copier_cli

NAMES = [
    pytest.param("Zahlungsdienst für Händler", "zahlungsdienst-fur-handler", id="German"),
    pytest.param("Straßenbahn Fahrplanauskunft", "strassenbahn-fahrplanauskunft", id="German-eszett"),
    pytest.param("Œuvres d'art à la carte, façade", "oeuvres-d-art-a-la-carte-facade", id="French"),
    pytest.param("Łódzka Usługa Płatności", "lodzka-usluga-platnosci", id="Polish"),
    pytest.param("Blåbær Søknadsbehandling", "blabaer-soknadsbehandling", id="Norwegian"),
]


def copy(tmp_path, *data: str):
    destination = tmp_path / "service"
    args = [arg for item in data for arg in ("--data", item)]
    result = copier_cli("copy", "--defaults", "--vcs-ref", "HEAD", *args, str(ROOT), str(destination))
    return result, Project(destination)


@pytest.mark.parametrize("name,slug", NAMES)
def test_a_latin_script_name_becomes_a_readable_slug(tmp_path, name, slug):
    result, project = copy(tmp_path, f"project_name={name}")
    assert result.returncode == 0, result.stderr
    assert project.answers["project_slug"] == slug
    assert project.yaml("catalog-info.yaml")["metadata"]["name"] == slug
    assert project.design.startswith(f"# {name}: system design\n"), "the title keeps the name as typed"


def test_dependencies_named_in_several_languages_get_runbooks_with_readable_names(tmp_path):
    dependencies = "\n".join([
        "Zahlungsprüfung: prüft Zahlungen",
        "Réservation des sièges",
        "Księgowość: zapisuje płatności",
        "Kundeløsning",
    ])
    result, project = copy(tmp_path, f"dependencies={dependencies}")
    assert result.returncode == 0, result.stderr
    runbooks = {path.name for path in project.files("docs/runbooks/dependency-*.md")}
    assert runbooks == {
        "dependency-zahlungsprufung.md",
        "dependency-reservation-des-sieges.md",
        "dependency-ksiegowosc.md",
        "dependency-kundelosning.md",
    }
    assert "Księgowość" in project.text("docs/runbooks/dependency-ksiegowosc.md"), "the runbook keeps the name as typed"
    assert broken_links(project.root) == []


def test_a_name_without_latin_letters_asks_for_a_slug_and_shows_the_name_as_typed(tmp_path):
    result, project = copy(tmp_path, "project_name=支付服务")
    assert result.returncode != 0
    assert "Validation error for question 'project_slug'" in result.stderr
    assert '"支付服务" has no Latin letters or digits' in result.stderr
    assert "\\u" not in result.stderr
    assert not project.root.exists(), "nothing is left behind"

    result, project = copy(tmp_path, "project_name=支付服务", "project_slug=zhifu-fuwu")
    assert result.returncode == 0, result.stderr
    assert project.design.startswith("# 支付服务: system design\n")
    assert project.answers["project_slug"] == "zhifu-fuwu"


def test_a_dependency_in_another_script_gets_the_same_clear_message(tmp_path):
    result, project = copy(tmp_path, "dependencies=ledger-service\n決済サービス: 支払いを記録する")
    assert result.returncode != 0
    assert "Validation error for question 'dependencies': a name has no a-z or 0-9" in result.stderr
    assert '"決済サービス"' in result.stderr and "\\u" not in result.stderr
    assert not project.root.exists()
