"""argv -> keyword arguments, against a fake option table."""

import pytest
from waitress_cli import UsageError, parse
from waitress_cli.parsing import OptionIndex


def test_equals_and_separate_value_forms(fake_options):
    parsed = parse(["--host=127.0.0.1", "--port", "9000", "app:wsgi"], fake_options)
    assert parsed.kw == {"host": "127.0.0.1", "port": "9000"}
    assert parsed.apps == ["app:wsgi"]
    assert (parsed.call, parsed.help, parsed.version) == (False, False, False)


def test_underscores_are_written_as_hyphens(fake_options):
    parsed = parse(["--url-prefix=/mnt", "--url_prefix=/other", "a:b"], fake_options)
    assert parsed.kw == {"url_prefix": "/other"}


def test_values_stay_the_strings_typed(fake_options):
    parsed = parse(["--workers=07", "a:b"], fake_options)
    assert parsed.kw["workers"] == "07"


def test_flags_and_their_negations(fake_options):
    parsed = parse(["--verbose-logging", "--no-keep-alive", "a:b"], fake_options)
    assert parsed.kw == {"verbose_logging": True, "keep_alive": False}


def test_the_last_of_a_repeated_flag_wins(fake_options):
    parsed = parse(["--keep-alive", "--no-keep-alive", "--keep-alive", "a:b"], fake_options)
    assert parsed.kw == {"keep_alive": True}


def test_listen_repeats_and_joins_with_spaces(fake_options):
    parsed = parse(
        ["--listen=127.0.0.1:1", "--listen", "[::1]:2", "--listen=*:3", "a:b"], fake_options
    )
    assert parsed.kw == {"listen": "127.0.0.1:1 [::1]:2 *:3"}


def test_other_options_repeated_keep_the_last(fake_options):
    assert parse(["--port=1", "--port=2", "a:b"], fake_options).kw == {"port": "2"}


def test_the_table_says_which_options_repeat(fake_options):
    # Nothing is known by name: a table whose listen is not repeatable keeps the last.
    table = [option._replace(repeatable=option.name == "port") for option in fake_options]
    parsed = parse(["--listen=a:1", "--listen=b:2", "--port=1", "--port=2", "a:b"], table)
    assert parsed.kw == {"listen": "b:2", "port": "1 2"}


def test_runner_flags(fake_options):
    parsed = parse(["--call", "-h", "--version", "a:b"], fake_options)
    assert (parsed.call, parsed.help, parsed.version) == (True, True, True)


@pytest.mark.parametrize(
    "argv",
    [["--app=pkg.mod:app"], ["--app", "pkg.mod:app"]],
)
def test_app_option_is_an_alternative_to_the_positional(fake_options, argv):
    assert parse(argv, fake_options).apps == ["pkg.mod:app"]


def test_app_and_positional_are_both_collected(fake_options):
    assert parse(["--app=x:y", "z:w"], fake_options).apps == ["x:y", "z:w"]


def test_double_dash_ends_options(fake_options):
    parsed = parse(["--port=1", "--", "--odd:name"], fake_options)
    assert parsed.apps == ["--odd:name"]
    assert parsed.kw == {"port": "1"}


def test_value_may_contain_equals_signs(fake_options):
    assert parse(["--host=a=b", "x:y"], fake_options).kw == {"host": "a=b"}


def test_value_may_be_empty(fake_options):
    assert parse(["--url-prefix=", "x:y"], fake_options).kw == {"url_prefix": ""}


def test_value_starting_with_single_dash_is_taken(fake_options):
    assert parse(["--host", "-weird", "x:y"], fake_options).kw == {"host": "-weird"}


def test_nothing_given_yields_empty_results(fake_options):
    parsed = parse([], fake_options)
    assert parsed.kw == {} and parsed.apps == []


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--prot=1"], "unknown option '--prot' (did you mean --port?)"),
        (["--verbose-loging"], "unknown option '--verbose-loging' (did you mean --verbose-logging?)"),
        (["--no-keepalive"], "unknown option '--no-keepalive' (did you mean --no-keep-alive?)"),
        (["--zzzzzz"], "unknown option '--zzzzzz'"),
        (["-x"], "unknown option '-x'"),
        (["--port=abc"], "--port: invalid value 'abc' (expected an integer)"),
        (["--port"], "--port needs a value"),
        (["--port", "--workers=2"], "--port needs a value"),
        (["--app"], "--app needs a value"),
        (["--keep-alive=yes"], "--keep-alive takes no value (use --keep-alive or --no-keep-alive)"),
        (["--no-keep-alive=1"], "--no-keep-alive takes no value (use --keep-alive or --no-keep-alive)"),
        (["--call=1"], "--call takes no value"),
        (["--no-port"], "--no-port: --port is not a flag; give it a value with --port=VALUE"),
        (["--handles=3"], "--handles cannot be given on the command line: Pre-opened handles, Python API only."),
    ],
)
def test_bad_arguments_raise_one_line_usage_errors(fake_options, argv, message):
    with pytest.raises(UsageError) as info:
        parse(argv, fake_options)
    assert str(info.value) == message
    assert "\n" not in str(info.value)


def test_usage_error_is_a_value_error(fake_options):
    with pytest.raises(ValueError):
        parse(["--bogus"], fake_options)


def test_api_only_options_are_not_suggested(fake_options):
    words = OptionIndex(fake_options).known_spellings()
    assert "--handles" not in words
    assert "--no-verbose-logging" in words and "--no-port" not in words
    assert {"--help", "--version", "--app", "--call"} <= set(words)


def test_a_table_clashing_with_runner_options_is_refused(fake_options):
    clash = fake_options[0]._replace(name="call")
    with pytest.raises(ValueError, match="clashes with a runner option"):
        OptionIndex([clash])


def test_a_table_declaring_a_name_twice_is_refused(fake_options):
    with pytest.raises(ValueError, match="declared twice"):
        OptionIndex([fake_options[0], fake_options[0]])


@pytest.mark.parametrize(
    "argv, kw",
    [
        (["--work=2"], {"workers": "2"}),
        (["--lis", "a:1", "--list=b:2"], {"listen": "a:1 b:2"}),
        (["--verb"], {"verbose_logging": True}),
        (["--no-verb"], {"verbose_logging": False}),
        (["--url_pre=/x"], {"url_prefix": "/x"}),
    ],
)
def test_an_unambiguous_prefix_stands_for_its_option(fake_options, argv, kw):
    """getopt's rule, which Waitress's command line followed."""
    assert parse(argv + ["a:b"], fake_options).kw == kw


def test_an_exact_spelling_wins_over_longer_ones(fake_options):
    table = fake_options + (fake_options[0]._replace(name="host_name"),)
    assert parse(["--host=h", "a:b"], table).kw == {"host": "h"}


def test_runner_words_may_be_abbreviated_too(fake_options):
    parsed = parse(["--he", "--vers", "--ca", "--ap=a:b"], fake_options)
    assert (parsed.help, parsed.version, parsed.call, parsed.apps) == (True, True, True, ["a:b"])


def test_an_ambiguous_prefix_names_the_candidates(fake_options):
    with pytest.raises(UsageError) as info:
        parse(["--h=1", "a:b"], fake_options)
    assert str(info.value) == "--h is ambiguous: it could be --help, --host"


def test_an_api_only_option_is_not_reached_by_a_prefix(fake_options):
    with pytest.raises(UsageError, match="unknown option '--hand'"):
        parse(["--hand=1", "a:b"], fake_options)


class MinimalOption:
    """An option declaring only what ``run()`` requires: no cli, metavar or repeatable."""

    def __init__(self, name, convert, default, help, group, flag=False):
        self.name, self.convert, self.default = name, convert, default
        self.help, self.group, self.flag = help, group, flag


def test_an_option_without_a_cli_attribute_is_a_command_line_option():
    """``cli`` is optional in a caller's table and defaults to True: a server
    whose table omits it must still get every option on its command line."""
    table = [MinimalOption("workers", int, 4, "How many.", "Tuning"),
             MinimalOption("debug", bool, False, "Debug.", "Tuning", flag=True)]
    parsed = parse(["--workers=2", "--debug", "a:b"], table)
    assert parsed.kw == {"workers": "2", "debug": True}
