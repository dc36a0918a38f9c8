using Moe.Web;

// moe-web: the portal, the REST API and scheduled evaluations; in the embedded default also the whole control plane
// (silo with both roles, SQLite and local artifacts under .data/platform). Options: appsettings.json, MOE_* environment
// variables (MOE_Web__Mode=client, MOE_ConnectionStrings__Postgres=...) or --Section:Key=value arguments.
// The content root is the app's folder (appsettings.json, presets, static files), wherever it is started from; relative
// data paths (.data/platform) still resolve against the working directory.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions
{
    Args = args, ContentRootPath = args.Any(a => a.StartsWith("--contentRoot", StringComparison.OrdinalIgnoreCase)) ? null : AppContext.BaseDirectory,
});
// MOE_ variables rank above appsettings.json but below the command line (as ASPNETCORE_ and DOTNET_ ones do): a later
// source wins, so the command line is added again after them.
builder.Configuration.AddEnvironmentVariables("MOE_");
builder.Configuration.AddCommandLine(args);
builder.AddPlatformWeb();
var app = builder.Build();
app.MapPlatformWeb();
app.Run();

/// <summary>The entry point, visible to the API tests' WebApplicationFactory.</summary>
public partial class Program;
