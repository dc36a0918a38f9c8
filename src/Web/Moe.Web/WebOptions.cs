namespace Moe.Web;

/// <summary>How the web app runs (configuration section <c>Web</c>; MOE_Web__* environment variables).</summary>
public sealed class WebOptions
{
    public const string Section = "Web";

    /// <summary>"embedded" co-hosts the platform silo (the default: one process is the whole platform); "client" joins a
    /// cluster of control and worker silos (Platform options and ConnectionStrings say where).</summary>
    public string Mode { get; set; } = "embedded";

    public bool IsClient => string.Equals(Mode, "client", StringComparison.OrdinalIgnoreCase);

    /// <summary>The first start creates this admin when no user exists. With no password configured, one is generated and
    /// printed once (and written to <c>admin-password.txt</c> in the data directory, readable by the owner only).</summary>
    public string AdminUser { get; set; } = "admin";
    public string? AdminPassword { get; set; }

    /// <summary>Largest dataset upload (multipart), in bytes; other API requests are limited to <see cref="MaxRequestBytes"/>.</summary>
    public long MaxUploadBytes { get; set; } = 1L << 30;
    public long MaxRequestBytes { get; set; } = 4L << 20;

    /// <summary>Where built-in corpora are (scripts/fetch-corpora.sh writes them; <c>moe-trainer data corpora</c> converts them).</summary>
    public string CorporaDirectory { get; set; } = Path.Combine(".data", "corpora");

    /// <summary>Launch the demo (Brown dataset, the brown-default run) once started and print its progress: ./platform run.</summary>
    public bool Demo { get; set; }

    /// <summary>Console log format: "simple" (one line per event) or "json" (structured, for log collectors).</summary>
    public string LogFormat { get; set; } = "simple";

    public void Validate()
    {
        if (!IsClient && !string.Equals(Mode, "embedded", StringComparison.OrdinalIgnoreCase))
            throw new PlatformException("Web:Mode", $"must be 'embedded' or 'client', got '{Mode}'");
        if (MaxUploadBytes < 1) throw new PlatformException("Web:MaxUploadBytes", "must be positive");
        if (MaxRequestBytes < 1) throw new PlatformException("Web:MaxRequestBytes", "must be positive");
    }
}
