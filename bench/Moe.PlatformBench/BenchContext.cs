using System.Globalization;

using Moe.Platform.Testing;

namespace Moe.PlatformBench;

/// <summary>What every benchmark shares: the backends to compare, the PostgreSQL server, a temp dir, the repetitions.</summary>
public sealed class BenchContext : IAsyncDisposable
{
    public required IReadOnlyList<Backend> Backends { get; init; }
    public PostgresServer? Postgres { get; init; }
    public required string Directory { get; init; }
    /// <summary>Timed repetitions of each measurement (after its warm-up).</summary>
    public required int Repetitions { get; init; }
    /// <summary>Scale factor for quick smoke runs (1 = the documented workload).</summary>
    public required double Scale { get; init; }
    public Report Report { get; } = new();

    public int Scaled(int n, int minimum = 1) => Math.Max(minimum, (int)Math.Round(n * Scale));

    public Task<BenchDatabase> NewDatabaseAsync(Backend backend, string name) =>
        BenchDatabase.CreateAsync(backend, Postgres, Directory, name);

    public string NewArtifactsDirectory() => Path.Combine(Directory, "artifacts-" + Guid.NewGuid().ToString("N")[..8]);

    public static string Label(Backend backend) => backend == Backend.Sqlite ? "SQLite" : "PostgreSQL";

    /// <summary>
    /// One row per scenario, one column per backend (the median +/- spread), and the ratio PostgreSQL/SQLite of the
    /// medians when both ran.
    /// </summary>
    public ResultTable SideBySide(string title, string unit, IEnumerable<string> scenarios,
        Func<string, Backend, Repeated?> value, int decimals = 1)
    {
        bool ratio = Backends.Contains(Backend.Sqlite) && Backends.Contains(Backend.Postgres);
        string[] columns = [unit, .. Backends.Select(Label), .. ratio ? ["PostgreSQL / SQLite"] : Array.Empty<string>()];
        var table = new ResultTable(title, columns);
        foreach (string scenario in scenarios)
        {
            var values = Backends.Select(b => value(scenario, b)).ToList();
            var cells = new List<string> { scenario };
            cells.AddRange(values.Select(v => v?.Format(decimals) ?? "-"));
            if (ratio)
            {
                var sqlite = value(scenario, Backend.Sqlite);
                var postgres = value(scenario, Backend.Postgres);
                cells.Add(sqlite is null || postgres is null ? "-" : Ratio(postgres.Median, sqlite.Median));
            }
            table.Row([.. cells]);
        }
        return table;
    }

    public static string Ratio(double a, double b) =>
        b == 0 || double.IsNaN(a / b) ? "-" : (a / b).ToString("0.00", CultureInfo.InvariantCulture) + "x";

    public async ValueTask DisposeAsync()
    {
        if (Postgres is not null) await Postgres.DisposeAsync();
        try { System.IO.Directory.Delete(Directory, recursive: true); } catch (IOException) { }
    }
}
