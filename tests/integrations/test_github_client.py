"""The real GitHub client against the fake GitHub: what it changes in the repository, what
it leaves alone, that a repeated call does no second piece of work, and how each way GitHub
fails reaches the job runner."""

from __future__ import annotations

import time
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest

from integrations.github import GitHub, web_url
from integrations.ports import IntegrationError, TransientError, Waiting
from tests.fakes.github import CHANGELOG_MD, PACKAGE_JSON, FakeGitHub

BRANCH = "release/v1.4.0"
REPO = "/repos/acme/portal"


@pytest.fixture
def fake() -> Iterator[FakeGitHub]:
    server = FakeGitHub()
    server.start()
    yield server
    server.stop()


def client(fake: FakeGitHub, **options: float | str) -> GitHub:
    settings: dict[str, float | str] = {"timeout": 5.0, "poll_seconds": 3.0, **options}
    token = str(settings.pop("token", fake.token))
    return GitHub(
        token,
        fake.repository,
        api_url=fake.base_url,
        workflow=str(settings.get("workflow", "regression.yml")),
        timeout=float(settings["timeout"]),
        poll_seconds=float(settings["poll_seconds"]),
    )


@pytest.fixture
def github(fake: FakeGitHub) -> Iterator[GitHub]:
    gh = client(fake)
    yield gh
    gh.close()


def requests(fake: FakeGitHub, since: int = 0) -> list[str]:
    return [f"{method} {path.removeprefix(REPO)}" for method, path, _, _ in fake.calls[since:]]


# -- the release branch and the version bump --------------------------------------------


def test_the_release_branch_starts_at_mains_head_and_a_second_call_finds_it(
    fake: FakeGitHub, github: GitHub
) -> None:
    main = fake.head("main")
    assert github.create_release_branch(BRANCH) == main
    assert fake.branches[BRANCH] == main
    assert requests(fake) == ["GET /git/ref/heads/main", "POST /git/refs"]
    assert fake.calls[1][3] == {"ref": f"refs/heads/{BRANCH}", "sha": main}

    fake.merge_pull("Later work")  # main moves on; the branch stays where it was made
    assert github.create_release_branch(BRANCH) == main
    assert fake.branches[BRANCH] == main
    assert requests(fake, 2)[-1] == f"GET /git/ref/heads/{BRANCH}"  # after the 422


def test_a_branch_whose_creation_answer_was_lost_is_found_on_the_retry(fake: FakeGitHub) -> None:
    quick = client(fake, timeout=0.5)
    fake.hang_next("POST /repos/acme/portal/git/refs", 2.0)  # created, but answered late
    with pytest.raises(TransientError, match="within 0.5 s"):
        quick.create_release_branch(BRANCH)
    quick.close()
    assert fake.branches[BRANCH] == fake.head("main")
    gh = client(fake)  # the retry, with the usual time limit (a busy machine needs it)
    assert gh.create_release_branch(BRANCH) == fake.head("main")
    gh.close()


def test_the_bump_changes_only_the_version_and_only_on_the_release_branch(
    fake: FakeGitHub, github: GitHub
) -> None:
    main_before = fake.head("main")
    github.create_release_branch(BRANCH)
    before = len(fake.calls)
    sha = github.bump_version(BRANCH, "v1.4.0")

    assert sha == fake.head(BRANCH) != main_before
    assert fake.head("main") == main_before
    assert fake.file("package.json", "main") == PACKAGE_JSON
    assert fake.file("package.json", BRANCH) == PACKAGE_JSON.replace(
        '"version": "1.3.0"', '"version": "1.4.0"'
    )
    assert fake.commits[sha].message == "chore(release): v1.4.0"
    assert fake.commits[sha].parent == main_before
    assert requests(fake, before) == ["GET /contents/package.json", "PUT /contents/package.json"]
    assert fake.calls[before][2] == {"ref": BRANCH}
    assert fake.calls[before + 1][3]["branch"] == BRANCH


def test_a_second_bump_makes_no_second_commit(fake: FakeGitHub, github: GitHub) -> None:
    github.create_release_branch(BRANCH)
    first = github.bump_version(BRANCH, "v1.4.0")
    assert github.bump_version(BRANCH, "v1.4.0") == first
    assert fake.count("PUT /repos/acme/portal/contents/package.json") == 1
    assert len(fake.log(BRANCH)) == len(fake.log("main")) + 1


def test_the_bump_leaves_a_nested_version_alone(fake: FakeGitHub, github: GitHub) -> None:
    text = '{\n\t"name": "portal",\n\t"config": {"version": "9"},\n\t"version": "1.3.0"\n}\n'
    fake.push(BRANCH, "package.json", text)
    github.bump_version(BRANCH, "v1.4.0")
    assert fake.file("package.json", BRANCH) == text.replace('"1.3.0"', '"1.4.0"')


def test_the_bump_refuses_main(fake: FakeGitHub, github: GitHub) -> None:
    with pytest.raises(IntegrationError, match="not main"):
        github.bump_version("main", "v1.4.0")
    assert fake.calls == []


def test_a_missing_branch_is_named(fake: FakeGitHub, github: GitHub) -> None:
    with pytest.raises(IntegrationError, match="no branch release/v9.9.9 in acme/portal") as e:
        github.bump_version("release/v9.9.9", "v9.9.9")
    assert not isinstance(e.value, TransientError)


# -- merged pull requests ----------------------------------------------------------------


def test_merged_pulls_are_those_between_two_release_points(
    fake: FakeGitHub, github: GitHub
) -> None:
    earlier = fake.merge_pull("Old fix", labels=("bug",))
    since = fake.head("main")  # the previous release branched here
    first = fake.merge_pull("Search by date", labels=("feature", "ui"), author="mona")
    second = fake.merge_pull("Fix <script> in titles", author="hubot")
    until = fake.head("main")
    fake.merge_pull("Too late for this release")

    found = github.merged_pulls(since, until)

    assert [p.number for p in found.pulls] == [first.number, second.number]
    assert found.pulls[0].title == "Search by date"
    assert found.pulls[0].labels == ("feature", "ui")
    assert found.pulls[0].author == "mona"
    assert found.pulls[0].url == f"https://github.com/acme/portal/pull/{first.number}"
    assert found.pulls[1].title == "Fix <script> in titles"
    assert earlier.number not in [p.number for p in found.pulls]
    query = parse_qs(urlsplit(found.full_list_url).query)["q"][0]
    assert found.full_list_url.startswith(f"{fake.base_url}/acme/portal/pulls?")
    assert "is:merged" in query and "merged:" in query


def test_the_first_release_lists_every_merged_pull_up_to_its_point(
    fake: FakeGitHub, github: GitHub
) -> None:
    pulls = [fake.merge_pull(f"Change {n}") for n in range(3)]
    until = fake.head("main")
    fake.merge_pull("After the branch point")
    found = github.merged_pulls(None, until)
    assert [p.number for p in found.pulls] == [p.number for p in pulls]


def test_nothing_merged_between_the_same_point(fake: FakeGitHub, github: GitHub) -> None:
    fake.merge_pull("Already released")
    head = fake.head("main")
    assert github.merged_pulls(head, head).pulls == ()


def test_merged_pulls_are_read_page_by_page(fake: FakeGitHub, github: GitHub) -> None:
    since = fake.head("main")
    pulls = [fake.merge_pull(f"Change {n}") for n in range(130)]
    found = github.merged_pulls(since, fake.head("main"))
    assert [p.number for p in found.pulls] == [p.number for p in pulls]
    pages = [q["page"] for m, path, q, _ in fake.calls if path == "/search/issues"]
    assert pages == ["1", "2"]


def test_an_incomplete_search_is_worth_a_retry(fake: FakeGitHub, github: GitHub) -> None:
    partial = {"total_count": 0, "incomplete_results": True, "items": []}
    fake.fail_next("/search/issues", status=200, body=partial)
    with pytest.raises(TransientError, match="only part"):
        github.merged_pulls(None, fake.head("main"))


def test_web_url_of_github_and_of_an_enterprise_server() -> None:
    assert web_url("https://api.github.com") == "https://github.com"
    assert web_url("https://ghe.example.com/api/v3") == "https://ghe.example.com"


# -- the change log -----------------------------------------------------------------------

ENTRY = "## v1.4.0 — 2024-05-02\n\n- Search by date (#21)\n"


def test_the_changelog_entry_goes_above_the_older_ones_once(
    fake: FakeGitHub, github: GitHub
) -> None:
    github.update_changelog("v1.4.0", ENTRY)
    text = fake.file("CHANGELOG.md", "main") or ""
    head, older = CHANGELOG_MD.split("## v1.3.0", 1)
    assert text == head + ENTRY + "\n## v1.3.0" + older
    assert fake.log("main")[0].message == "docs(changelog): v1.4.0"

    main = fake.head("main")
    github.update_changelog("v1.4.0", ENTRY)
    assert fake.head("main") == main
    assert fake.count("PUT /repos/acme/portal/contents/CHANGELOG.md") == 1


def test_a_missing_changelog_is_started(fake: FakeGitHub, github: GitHub) -> None:
    fake.push("main", "CHANGELOG.md", None, "Remove the change log")
    github.update_changelog("v1.4.0", ENTRY)
    assert fake.file("CHANGELOG.md", "main") == "# Changelog\n\n" + ENTRY


def test_a_changelog_sent_without_content_is_not_overwritten(
    fake: FakeGitHub, github: GitHub
) -> None:
    too_large = {"type": "file", "encoding": "none", "content": "", "sha": "3d21ec5", "size": 2**21}
    fake.fail_next("GET /repos/acme/portal/contents/CHANGELOG.md", status=200, body=too_large)
    with pytest.raises(IntegrationError, match="too large"):
        github.update_changelog("v1.4.0", ENTRY)
    assert fake.count("PUT") == 0
    assert fake.file("CHANGELOG.md", "main") == CHANGELOG_MD


def test_a_changelog_changed_meanwhile_is_worth_a_retry(fake: FakeGitHub, github: GitHub) -> None:
    stale = {"message": "CHANGELOG.md does not match 3d21ec53a331a6f037a91c368710b99387d012c1"}
    fake.fail_next("PUT /repos/acme/portal/contents/CHANGELOG.md", status=409, body=stale)
    with pytest.raises(TransientError, match="changed"):
        github.update_changelog("v1.4.0", ENTRY)
    github.update_changelog("v1.4.0", ENTRY)
    assert (fake.file("CHANGELOG.md", "main") or "").count("## v1.4.0") == 1


def test_a_protected_main_is_a_refusal(fake: FakeGitHub, github: GitHub) -> None:
    ruled = {"message": "Repository rule violations found"}
    fake.fail_next("PUT /repos/acme/portal/contents/CHANGELOG.md", status=409, body=ruled)
    with pytest.raises(IntegrationError, match="409") as error:
        github.update_changelog("v1.4.0", ENTRY)
    assert not isinstance(error.value, TransientError)


# -- deployment records ------------------------------------------------------------------


def test_deployment_statuses_are_recorded_once_each(fake: FakeGitHub, github: GitHub) -> None:
    sha = github.create_release_branch(BRANCH)
    url = "https://portal-git-release.vercel.app"
    github.record_deployment("staging", sha, "in_progress", url, "Deploying")
    github.record_deployment("staging", sha, "success", url, "Deployed " + "x" * 200)
    github.record_deployment("staging", sha, "success", url, "Deployed again")  # a retry
    github.record_deployment("production", sha, "success", "https://portal.example", "Live")

    staging, production = fake.deployments()
    assert (staging.environment, staging.sha) == ("staging", sha)
    assert staging.states == ("in_progress", "success")
    assert not staging.production_environment
    assert len(staging.descriptions[1]) == 140
    assert (production.environment, production.states) == ("production", ("success",))
    assert production.production_environment
    assert fake.count("POST /repos/acme/portal/deployments") == 2 + 3  # 2 made, 3 statuses


def test_a_status_whose_answer_was_lost_is_not_posted_twice(fake: FakeGitHub) -> None:
    quick = client(fake, timeout=0.5)
    sha = fake.head("main")
    fake.hang_next("/statuses", 2.0)  # the first GET of statuses hangs: nothing posted yet
    with pytest.raises(TransientError):
        quick.record_deployment("staging", sha, "success", "https://s.example", "Deployed")
    fake.heal()
    fake.hang_next("POST /repos/acme/portal/deployments/1/statuses", 2.0)
    with pytest.raises(TransientError):
        quick.record_deployment("staging", sha, "success", "https://s.example", "Deployed")
    quick.close()
    gh = client(fake)  # the retry, with the usual time limit (a busy machine needs it)
    gh.record_deployment("staging", sha, "success", "https://s.example", "Deployed")
    [deployment] = fake.deployments()
    assert deployment.states == ("success",)
    gh.close()


# -- the regression workflow ---------------------------------------------------------------


def test_a_dispatch_is_not_repeated_for_the_same_commit(fake: FakeGitHub, github: GitHub) -> None:
    sha = github.create_release_branch(BRANCH)
    github.dispatch(BRANCH, sha)
    github.dispatch(BRANCH, sha)
    [run] = fake.runs()
    assert (run.branch, run.head_sha, run.status) == (BRANCH, sha, "queued")
    assert fake.count("/dispatches") == 1
    dispatched = [c for c in fake.calls if c[1].endswith("/dispatches")]
    assert dispatched[0][3] == {"ref": BRANCH}
    runs_query = next(q for m, p, q, _ in fake.calls if p.endswith("/runs"))
    assert (runs_query["branch"], runs_query["head_sha"]) == (BRANCH, sha)


def test_a_branch_that_moved_on_is_not_dispatched(fake: FakeGitHub, github: GitHub) -> None:
    sha = github.create_release_branch(BRANCH)
    fake.push(BRANCH, "README.md", "hotfix")
    with pytest.raises(IntegrationError, match="moved on"):
        github.dispatch(BRANCH, sha)
    assert fake.count("/dispatches") == 0


def test_the_result_waits_for_the_run_then_reports_it(fake: FakeGitHub, github: GitHub) -> None:
    sha = github.create_release_branch(BRANCH)
    with pytest.raises(Waiting, match="not started yet") as waiting:
        github.result(BRANCH, sha)
    assert waiting.value.retry_after == 3.0
    github.dispatch(BRANCH, sha)
    with pytest.raises(Waiting, match="is queued"):
        github.result(BRANCH, sha)
    run = fake.finish_run("failure")
    result = github.result(BRANCH, sha)
    assert (result.conclusion, result.sha, result.passed) == ("failure", sha, False)
    assert result.url == f"https://github.com/acme/portal/actions/runs/{run.id}"


def test_runs_that_finish_by_themselves() -> None:
    fake = FakeGitHub(auto_finish="success", auto_finish_after=2)
    fake.start()
    gh = client(fake)
    sha = gh.create_release_branch(BRANCH)
    gh.dispatch(BRANCH, sha)
    seen = []
    for _ in range(3):
        try:
            seen.append(gh.result(BRANCH, sha).conclusion)
        except Waiting as waiting:
            seen.append(str(waiting))
    assert seen == [
        "the regression workflow is queued",
        "the regression workflow is in_progress",
        "success",
    ]
    gh.close()
    fake.stop()


def test_an_unknown_workflow_is_named(fake: FakeGitHub) -> None:
    gh = client(fake, workflow="nightly.yml")
    with pytest.raises(IntegrationError, match="no workflow nightly.yml in acme/portal") as e:
        gh.dispatch("main", fake.head("main"))
    assert not isinstance(e.value, TransientError)
    gh.close()


# -- failures -------------------------------------------------------------------------------


def test_a_server_error_is_transient_and_changes_nothing(fake: FakeGitHub, github: GitHub) -> None:
    fake.fail_next("/git/refs", status=500)
    with pytest.raises(TransientError, match="500") as error:
        github.create_release_branch(BRANCH)
    assert not isinstance(error.value, Waiting)
    assert BRANCH not in fake.branches
    assert github.create_release_branch(BRANCH) == fake.branches[BRANCH]


def test_a_rate_limit_says_when_to_come_back(fake: FakeGitHub, github: GitHub) -> None:
    fake.fail_next("*", status=429, headers={"Retry-After": "7"})
    with pytest.raises(TransientError) as error:
        github.head("main")
    assert error.value.retry_after == 7


def test_a_403_with_no_requests_left_is_a_rate_limit(fake: FakeGitHub, github: GitHub) -> None:
    reset = str(int(time.time()) + 60)
    headers = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset}
    body = {"message": "API rate limit exceeded for installation ID 1."}
    fake.fail_next("/search/issues", status=403, headers=headers, body=body)
    with pytest.raises(TransientError, match="rate limit") as error:
        github.merged_pulls(None, fake.head("main"))
    assert error.value.retry_after is not None and 50 < error.value.retry_after <= 60


def test_a_hang_past_the_time_limit_is_transient(fake: FakeGitHub) -> None:
    gh = client(fake, timeout=0.5)
    fake.hang_next("*", 3.0)
    started = time.monotonic()
    with pytest.raises(TransientError, match=r"did not answer within 0\.5 s"):
        gh.head("main")
    assert time.monotonic() - started < 2.0
    gh.close()


def test_a_reset_connection_is_transient(fake: FakeGitHub, github: GitHub) -> None:
    fake.reset_next("/dispatches")
    sha = fake.head("main")
    with pytest.raises(TransientError, match="could not reach GitHub"):
        github.dispatch("main", sha)
    assert fake.runs() == []
    github.dispatch("main", sha)
    assert [run.head_sha for run in fake.runs()] == [sha]


def test_an_outage_lasts_until_healed(fake: FakeGitHub, github: GitHub) -> None:
    fake.fail_always("*", 503)
    for _ in range(2):
        with pytest.raises(TransientError, match="503"):
            github.head("main")
    fake.heal()
    assert github.head("main") == fake.head("main")


def test_bad_credentials_are_a_refusal_that_never_shows_the_token(fake: FakeGitHub) -> None:
    secret = "ghp_not_the_right_token_123"
    gh = client(fake, token=secret)
    with pytest.raises(IntegrationError) as error:
        gh.create_release_branch(BRANCH)
    assert not isinstance(error.value, TransientError)
    assert "401" in str(error.value) and "Bad credentials" in str(error.value)
    assert secret not in str(error.value) and secret not in repr(gh)
    assert BRANCH not in fake.branches


def test_the_client_sends_githubs_headers(fake: FakeGitHub, github: GitHub) -> None:
    github.head("main")
    sent = {k.lower(): v for k, v in fake.headers[0].items()}
    assert sent["authorization"] == f"Bearer {fake.token}"
    assert sent["accept"] == "application/vnd.github+json"
    assert sent["x-github-api-version"] == "2022-11-28"
    assert sent["user-agent"].startswith("release-bot")
