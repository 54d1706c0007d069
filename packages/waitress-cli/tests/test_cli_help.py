"""The help text is built from the table: every CLI option, grouped, with its default."""

import pytest
from waitress_cli import format_help, run
from waitress_cli.helptext import describe_default


def test_usage_line_first(fake_options):
    text = format_help("myserve", fake_options)
    assert text.splitlines()[0] == "Usage: myserve [OPTIONS] MODULE:OBJECT"
    assert "myserve [OPTIONS] --app=MODULE:OBJECT" in text


def test_every_cli_option_listed_once_with_its_help(fake_options):
    text = format_help("x", fake_options)
    for option in fake_options:
        spelled = option.name.replace("_", "-")
        if not option.cli:
            assert spelled not in text
            continue
        heading = f"  --[no-]{spelled}" if option.flag else f"  --{spelled}={option.metavar}"
        assert text.count(heading + "\n") == 1, heading
        assert option.help in text


def test_groups_in_table_order_with_their_options(fake_options):
    lines = format_help("x", fake_options).splitlines()
    network = lines.index("Network options:")
    tuning = lines.index("Tuning options:")
    assert lines.index("Runner options:") < network < tuning
    assert network < lines.index("  --url-prefix=PATH") < tuning
    assert lines.index("  --workers=INT") > tuning


def test_runner_options_documented(fake_options):
    text = format_help("x", fake_options)
    for heading in ("-h, --help", "--version", "--app=MODULE:OBJECT", "--call"):
        assert f"  {heading}\n" in text


def test_defaults_shown(fake_options):
    text = " ".join(format_help("x", fake_options).split())
    assert "Port to listen on. Default: 8080." in text
    assert "Log a lot. Default: off." in text
    assert "Reuse connections. Default: on." in text
    assert "Mount point. Default: empty." in text
    assert "Listen here. Default: 0.0.0.0:8080." in text


def test_hyphenated_words_are_not_split_across_lines(fake_options):
    option = fake_options[0]._replace(help="See " + "--some-long-option-name " * 8)
    for line in format_help("x", [option]).splitlines():
        assert not line.endswith("-"), line


def test_lines_fit_in_79_columns(fake_options):
    long_help = fake_options[0]._replace(help="word " * 60)
    assert max(len(line) for line in format_help("x", [long_help]).splitlines()) <= 79


@pytest.mark.parametrize(
    "default, shown",
    [(True, "on"), (False, "off"), (None, "not set"), ("", "empty"), ((), "empty"),
     (frozenset({"b", "a"}), "a b"), (["x", "y"], "x y"), (42, "42"), ("http", "http")],
)
def test_describe_default(fake_options, default, shown):
    assert describe_default(fake_options[0]._replace(default=default)) == shown


def test_default_text_overrides(fake_options):
    option = fake_options[1]._replace(default=0o600, default_text="600")
    assert describe_default(option) == "600"


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_prints_to_stdout_and_exits_zero(fake_options, fake_serve, console, flag):
    status = run([flag], options=fake_options, serve=fake_serve, prog="srv",
                 stdout=console.out, stderr=console.err)
    assert status == 0
    assert console.out.getvalue() == format_help("srv", fake_options)
    assert console.err.getvalue() == ""
    assert fake_serve.calls == []


def test_help_wins_over_other_errors(fake_options, fake_serve, console):
    status = run(["--bogus", "--help"], options=fake_options, serve=fake_serve,
                 stdout=console.out, stderr=console.err)
    assert status == 0
    assert console.out.getvalue().startswith("Usage:")


def test_help_after_double_dash_is_an_app_name(fake_options, fake_serve, console):
    status = run(["--", "--help"], options=fake_options, serve=fake_serve,
                 stdout=console.out, stderr=console.err)
    assert status == 2


def test_version(fake_options, fake_serve, console):
    status = run(["--version"], options=fake_options, serve=fake_serve, prog="srv",
                 version="1.2.3", stdout=console.out, stderr=console.err)
    assert status == 0
    assert console.out.getvalue() == "srv 1.2.3\n"
    assert fake_serve.calls == []


def test_version_unknown(fake_options, fake_serve, console):
    run(["--version"], options=fake_options, serve=fake_serve, prog="srv",
        stdout=console.out, stderr=console.err)
    assert console.out.getvalue() == "srv\n"


def test_runner_options_say_what_they_do(fake_options):
    """A person reads --help to learn what -h, --version, --app and --call do;
    a heading without its sentence (or a garbled one) leaves them guessing."""
    lines = format_help("x", fake_options).splitlines()
    start = lines.index("Runner options:")
    assert lines[start + 1:start + 5] == [
        "  -h, --help",
        "      Show this help and exit.",
        "  --version",
        "      Show the program's version and exit.",
    ]
    assert "      The application to serve, instead of the positional argument." in lines
    call = lines.index("  --call")
    assert " ".join(line.strip() for line in lines[call + 1:call + 3]) == (
        "Call OBJECT with no arguments (it is an application factory) and serve what it returns."
    )


def test_prose_is_indented_six_columns_under_its_heading(fake_options):
    """Headings sit at two columns and their prose at six, so the eye finds
    the option names down the left edge of a long help text."""
    lines = format_help("x", fake_options).splitlines()
    body = lines[lines.index("Runner options:") + 1:]
    for line in body:
        if not line or line.endswith(":") and not line.startswith(" "):
            continue  # a blank line or a group title
        if line.startswith("  -"):
            continue  # a heading
        assert line.startswith("      ") and line[6] != " ", repr(line)


def test_prose_uses_the_full_79_columns(fake_options):
    """The help is laid out for an 80-column terminal: a line that fits in 79
    columns stays whole instead of being wrapped early onto an extra line."""
    words = "abcdefghi " * 7 + "abc"  # 73 characters: 79 with the indent
    option = fake_options[0]._replace(help=words.strip() + " tail")
    lines = format_help("x", [option]).splitlines()
    assert "      " + words.strip() in lines


def test_an_option_without_a_cli_attribute_is_listed(fake_options):
    """``cli`` is optional in a caller's table; an option that does not set it
    is on the command line and so must be in the help."""
    option = fake_options[5]
    bare = type("Bare", (), {name: getattr(option, name) for name in
                             ("name", "convert", "default", "help", "group", "flag")})
    assert "  --workers=VALUE\n" in format_help("x", [bare])


def test_blank_lines_separate_usage_description_and_sections(fake_options):
    """The help reads as blocks: the two usage lines, the description, then
    each section after one blank line; stray text between them is noise a
    person has to read past."""
    lines = format_help("x", fake_options).splitlines()
    assert lines[2] == ""
    runner = lines.index("Runner options:")
    assert lines[runner - 1] == "" and all(lines[3:runner - 1])
    for title in ("Network options:", "Tuning options:"):
        assert lines[lines.index(title) - 1] == ""
