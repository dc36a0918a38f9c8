using System.Globalization;

namespace Moe.Bench;

/// <summary>A usage error: printed with the command's help, exit code 2.</summary>
sealed class UsageException(string message) : Exception(message);

/// <summary>
/// <c>--name value</c> options, <c>--flag</c> switches (no value, or followed by another option) and repeatable
/// <c>--set field=value</c> config overrides. Every option a command reads is checked off; leftovers are an error.
/// </summary>
sealed class BenchArgs
{
    readonly Dictionary<string, List<string?>> options = new(StringComparer.Ordinal);
    readonly HashSet<string> read = new(StringComparer.Ordinal);

    public BenchArgs(IEnumerable<string> args)
    {
        var list = args.ToList();
        for (var i = 0; i < list.Count; i++)
        {
            var a = list[i];
            if (!a.StartsWith("--", StringComparison.Ordinal) || a.Length == 2) throw new UsageException($"unexpected argument '{a}'");
            string name = a[2..];
            string? value = null;
            var eq = name.IndexOf('=');
            if (eq > 0) { value = name[(eq + 1)..]; name = name[..eq]; }
            else if (i + 1 < list.Count && !list[i + 1].StartsWith("--", StringComparison.Ordinal)) value = list[++i];
            if (!options.TryGetValue(name, out var values)) options[name] = values = [];
            values.Add(value);
        }
    }

    public bool Has(string name)
    {
        read.Add(name);
        return options.ContainsKey(name);
    }

    public string? Get(string name)
    {
        read.Add(name);
        if (!options.TryGetValue(name, out var v)) return null;
        return v[^1] ?? throw new UsageException($"--{name} needs a value");
    }

    /// <summary>A switch that may carry a value (e.g. <c>--json</c> or <c>--json out.json</c>).</summary>
    public (bool Present, string? Value) Optional(string name)
    {
        read.Add(name);
        return options.TryGetValue(name, out var v) ? (true, v[^1]) : (false, null);
    }

    public IReadOnlyList<string> All(string name)
    {
        read.Add(name);
        return options.TryGetValue(name, out var v) ? v.Select(x => x ?? throw new UsageException($"--{name} needs a value")).ToList() : [];
    }

    public string Require(string name) => Get(name) ?? throw new UsageException($"--{name} is required");

    public int Int(string name, int fallback)
    {
        var s = Get(name);
        if (s is null) return fallback;
        return int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) && v >= 0
            ? v : throw new UsageException($"--{name} must be a non-negative integer (got '{s}')");
    }

    public double? Double(string name)
    {
        var s = Get(name);
        if (s is null) return null;
        return double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && v > 0
            ? v : throw new UsageException($"--{name} must be a positive number (got '{s}')");
    }

    public void ThrowIfUnread()
    {
        var unknown = options.Keys.Where(k => !read.Contains(k)).ToList();
        if (unknown.Count > 0) throw new UsageException($"unknown option(s): {string.Join(", ", unknown.Select(k => "--" + k))}");
    }
}
