using System.Globalization;

namespace Moe.Trainer;

public sealed class UsageException(string message) : Exception(message);

/// <summary>--name value options plus trailing field.path=value configuration overrides.</summary>
public sealed class CommandArgs
{
    readonly Dictionary<string, string> options = new(StringComparer.Ordinal);
    readonly HashSet<string> consumed = [];

    public List<string> Overrides { get; } = [];

    public static CommandArgs Parse(IReadOnlyList<string> args)
    {
        var parsed = new CommandArgs();
        for (var i = 0; i < args.Count; i++)
        {
            var a = args[i];
            if (a.StartsWith("--", StringComparison.Ordinal))
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
