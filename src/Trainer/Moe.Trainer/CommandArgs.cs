using System.Globalization;

namespace Moe.Trainer;

public sealed class UsageException(string message) : Exception(message);

/// <summary>--name value options plus trailing field.path=value configuration overrides.</summary>
public sealed class CommandArgs
{
    readonly Dictionary<string, string> options = new(StringComparer.Ordinal);
    readonly HashSet<string> consumed = [];

    /// <summary>Options that take no value.</summary>
    static readonly HashSet<string> FlagNames = ["json", "overwrite", "greedy"];

    public List<string> Overrides { get; } = [];

    /// <summary>A comma-separated list of files, each of which must exist.</summary>
    public static IReadOnlyList<string> Paths(string text, string option)
    {
        var paths = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (paths.Length == 0) throw new UsageException($"--{option} names no file");
        foreach (var p in paths) if (!File.Exists(p)) throw new UsageException($"--{option}: file '{p}' does not exist");
        return paths;
    }

    public bool Flag(string name) => Get(name) is not null;

    public double Double(string name, double fallback, double min = double.MinValue)
    {
        var text = Get(name);
        if (text is null) return fallback;
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || !double.IsFinite(value) || value < min)
            throw new UsageException($"--{name} must be a number >= {min} (got '{text}')");
        return value;
    }

    public static CommandArgs Parse(IReadOnlyList<string> args)
    {
        var parsed = new CommandArgs();
        for (var i = 0; i < args.Count; i++)
        {
            var a = args[i];
            if (a.StartsWith("--", StringComparison.Ordinal) && FlagNames.Contains(a[2..]))
                parsed.options[a[2..]] = "true";
            else if (a.StartsWith("--", StringComparison.Ordinal))
            {
                if (i + 1 >= args.Count) throw new UsageException($"option {a} needs a value");
                parsed.options[a[2..]] = args[++i];
            }
            else if (a.Contains('=')) parsed.Overrides.Add(a);
            else throw new UsageException($"unexpected argument '{a}' (options look like --name value, overrides like field.path=value)");
        }
        return parsed;
    }

    public string? Get(string name)
    {
        consumed.Add(name);
        return options.GetValueOrDefault(name);
    }

    public string Require(string name) => Get(name) ?? throw new UsageException($"missing required option --{name}");

    public int Int(string name, int fallback, int min = 1)
    {
        var text = Get(name);
        if (text is null) return fallback;
        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) || value < min)
            throw new UsageException($"--{name} must be an integer >= {min} (got '{text}')");
        return value;
    }

    /// <summary>Call after reading every option: a typo must not be silently ignored.</summary>
    public void RejectUnknown()
    {
        var unknown = options.Keys.Where(k => !consumed.Contains(k)).ToList();
        if (unknown.Count > 0) throw new UsageException($"unknown option --{unknown[0]}");
    }
}
