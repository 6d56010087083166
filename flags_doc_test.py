"""README.md's flag tables list exactly the flags the binaries define.

Runs //producer_service and //consumer_service with --helpfull, takes the
flags absl lists under "Flags from <service>/main.cc:" (the service's own,
not gRPC's or absl's), and compares them with the rows of the tables under
"### <service> flags" in README.md: a flag without a row fails the test,
naming the flag and the section to add it to, and so does a row naming a
flag the binary does not have.

  bazel test //:flags_doc_test
"""

import re
import subprocess
import unittest

from testing.runfiles import runfile


def helpfull_flags(helpfull, service):
    """Flags absl lists under "Flags from <service>/main.cc:"."""
    header = f"Flags from {service}/main.cc:"
    lines = helpfull.splitlines()
    try:
        start = next(i for i, line in enumerate(lines)
                     if line.strip() == header)
    except StopIteration:
        raise AssertionError(
            f"{service} --helpfull has no '{header}' section:\n{helpfull}")
    flags = set()
    for line in lines[start + 1:]:
        if line.strip().startswith("Flags from "):
            break
        match = re.match(r"^ {4}--(\w+) \(", line)
        if match:
            flags.add(match.group(1))
    return flags


def readme_flags(readme, heading):
    """Flags named in the first cell of the table rows under `heading`, up to
    the next heading; None when there is no such heading."""
    lines = readme.splitlines()
    try:
        start = lines.index(heading)
    except ValueError:
        return None
    flags = set()
    in_code = False
    for line in lines[start + 1:]:
        if line.startswith("```"):
            in_code = not in_code
        elif in_code:
            continue
        elif line.startswith("#"):
            break
        elif line.startswith("| `--"):
            first_cell = line.split("|")[1]
            flags.update(re.findall(r"`--(\w+)`", first_cell))
    return flags


def problems(service, binary_flags, documented):
    """One line per disagreement between the binary and README.md."""
    heading = f"### {service} flags"
    if documented is None:
        return [f"README.md has no '{heading}' section; add it with a row "
                f"for each of: "
                + ", ".join(f"--{f}" for f in sorted(binary_flags))]
    missing = [
        f"--{flag} of {service} is not documented: add a row "
        f"'| `--{flag}` | default | meaning |' to README.md, section "
        f"'{heading}'" for flag in sorted(binary_flags - documented)]
    stale = [
        f"README.md, section '{heading}', has a row for --{flag}, which "
        f"{service} does not define (see its --helpfull): remove or rename "
        f"the row" for flag in sorted(documented - binary_flags)]
    return missing + stale


class ParsingTest(unittest.TestCase):
    """The checks themselves can fail: a removed or stale row is reported."""

    HELPFULL = """\
demo: usage.

  Flags from ./absl/flags/parse.cc:
    --flagfile (comma-separated list of files to load flags from); default: ;

  Flags from demo/main.cc:
    --alpha (One line.); default: 1;
    --beta (A help text that absl wraps onto
      --a_second_line (not a flag).); default: "";
    --gamma (One line.); default: true;

  Flags from src/core/lib/config.cc:
    --grpc_only (Not ours.); default: 0;
"""

    README = """\
### demo flags

| flag | default | meaning |
| --- | --- | --- |
| `--alpha` | `1` | Mentions `--gamma` in its meaning. |

```sh
# a comment in a code block, not a heading
```

| flag | default | on breach |
| --- | --- | --- |
| `--beta`, `--gamma` | empty | Two flags in one row. |

### other flags

| `--elsewhere` | `0` | Another section's row. |
"""

    def test_reads_only_the_services_own_section(self):
        self.assertEqual(helpfull_flags(self.HELPFULL, "demo"),
                         {"alpha", "beta", "gamma"})

    def test_reads_only_the_first_cell_of_the_section_rows(self):
        self.assertEqual(readme_flags(self.README, "### demo flags"),
                         {"alpha", "beta", "gamma"})

    def test_agreement_reports_nothing(self):
        self.assertEqual(
            problems("demo", helpfull_flags(self.HELPFULL, "demo"),
                     readme_flags(self.README, "### demo flags")), [])

    def test_a_removed_row_names_the_flag_and_the_section(self):
        readme = self.README.replace("| `--alpha` | `1` | Mentions "
                                     "`--gamma` in its meaning. |\n", "")
        found = problems("demo", helpfull_flags(self.HELPFULL, "demo"),
                         readme_flags(readme, "### demo flags"))
        self.assertEqual(len(found), 1, found)
        self.assertIn("--alpha of demo is not documented", found[0])
        self.assertIn("section '### demo flags'", found[0])

    def test_a_stale_row_is_reported(self):
        readme = self.README.replace("`--beta`, `--gamma`",
                                     "`--beta`, `--gamma`, `--delta`")
        found = problems("demo", helpfull_flags(self.HELPFULL, "demo"),
                         readme_flags(readme, "### demo flags"))
        self.assertEqual(len(found), 1, found)
        self.assertIn("has a row for --delta, which demo does not define",
                      found[0])

    def test_a_missing_section_is_reported(self):
        found = problems("demo", {"alpha"},
                         readme_flags(self.README, "### nothing flags"))
        self.assertEqual(len(found), 1, found)
        self.assertIn("no '### demo flags' section", found[0])


class ReadmeTest(unittest.TestCase):
    """README.md against the real binaries."""

    @classmethod
    def setUpClass(cls):
        with open(runfile("README.md"), encoding="utf-8") as readme:
            cls.readme = readme.read()

    def check(self, service):
        # --helpfull prints the flags and exits 1, by absl's design.
        run = subprocess.run([runfile(f"{service}/{service}"), "--helpfull"],
                             stdin=subprocess.DEVNULL, capture_output=True,
                             text=True, timeout=60, check=False)
        binary_flags = helpfull_flags(run.stdout + run.stderr, service)
        self.assertTrue(binary_flags, f"{service} --helpfull listed no flags")
        found = problems(service, binary_flags,
                         readme_flags(self.readme, f"### {service} flags"))
        if found:
            self.fail("README.md disagrees with the binary:\n"
                      + "\n".join(found))

    def test_consumer_service(self):
        self.check("consumer_service")

    def test_producer_service(self):
        self.check("producer_service")


if __name__ == "__main__":
    unittest.main()
