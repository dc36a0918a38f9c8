namespace Moe.Platform.Grains.Hosting;

/// <summary>
/// How a platform silo runs (configuration section <c>Platform</c>; connection strings under <c>ConnectionStrings</c>).
/// The embedded default needs none of it: both roles, localhost clustering, SQLite and local artifacts under one data
/// directory. PostgreSQL, Redis and Azure Blob Storage are used when their connection strings are given.
/// </summary>
public sealed class PlatformSiloOptions
{
    public const string Section = "Platform";

    /// <summary>Holds platform.db (SQLite), artifacts/ (local store) and worker/ (run folders, dataset cache).</summary>
    public string DataDirectory { get; set; } = Path.Combine(".data", "platform");

    /// <summary>"control" (grains: experiments, runs, scheduler, registries), "worker" (runs trainers), or both.</summary>
    public string Roles { get; set; } = "control,worker";

    /// <summary>PostgreSQL connection string (ConnectionStrings:Postgres); null keeps SQLite.</summary>
    public string? Postgres { get; set; }

    /// <summary>Redis connection string (ConnectionStrings:Redis) for clustering silos on several machines; null: localhost.</summary>
    public string? Redis { get; set; }

    /// <summary>Azure Blob Storage connection string (ConnectionStrings:AzureBlob); null keeps the local folder.</summary>
    public string? AzureBlob { get; set; }

    public string BlobContainer { get; set; } = "artifacts";

    /// <summary>The local artifact folder when no Azure connection string is given; by default data/artifacts.
    /// Silos on one machine (or a shared file system) share it by naming the same folder.</summary>
    public string? ArtifactsDirectory { get; set; }

    public int SiloPort { get; set; } = 11111;
    public int GatewayPort { get; set; } = 30000;

    /// <summary>Silos with the same cluster id form one cluster.</summary>
    public string ClusterId { get; set; } = "moe-platform";

    public bool HasRole(string role) =>
        Roles.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Contains(role, StringComparer.OrdinalIgnoreCase);

    public bool IsControl => HasRole(ControlRole);
    public bool IsWorker => HasRole(WorkerRole);

    public const string ControlRole = "control", WorkerRole = "worker";

    public void Validate()
    {
        var unknown = Roles.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(r => !r.Equals(ControlRole, StringComparison.OrdinalIgnoreCase) && !r.Equals(WorkerRole, StringComparison.OrdinalIgnoreCase))
            .ToList();
        if (unknown.Count > 0) throw new PlatformException("Platform:Roles", $"unknown role(s) {string.Join(", ", unknown)}; use control, worker or both");
        if (!IsControl && !IsWorker) throw new PlatformException("Platform:Roles", "must name at least one role");
        if (!IsControl && Redis is null)
            throw new PlatformException("ConnectionStrings:Redis", "a worker-only silo joins a cluster: give the Redis connection string");
    }
}
