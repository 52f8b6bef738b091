"""e2e suites that run against each coordinator store."""

load("@rules_cc//cc:defs.bzl", "cc_test")

def e2e_test_on_stores(name, tags = [], **kwargs):
    """Two cc_tests of the same suite: `name` on SQLite, `name`_postgres on PostgreSQL.

    The suite instantiates its tests with StoresUnderTest() (tests/e2e/cluster.h), which reads
    GRAPHMILL_E2E_STORES. Two targets rather than one running both, so the two run in parallel
    and each has its own timeout. The PostgreSQL one is not sandboxed: as root the throwaway
    server runs as `postgres`, which the linux-sandbox cannot do (as //coordinator/store:store_test).

    Args:
      name: the SQLite target's name.
      tags: tags of both targets.
      **kwargs: cc_test attributes of both targets.
    """
    cc_test(
        name = name,
        env = {"GRAPHMILL_E2E_STORES": "sqlite"},
        tags = tags,
        **kwargs
    )
    cc_test(
        name = name + "_postgres",
        env = {"GRAPHMILL_E2E_STORES": "postgres"},
        tags = tags + ["no-sandbox"],
        **kwargs
    )
