#!/usr/bin/env bash
# Scaffolds an EF Core migration named $1 for BOTH providers into Migrations/Sqlite and Migrations/Postgres.
# The NuGet feed serves no dotnet-ef tool, so this builds a throwaway console app (in a temp dir) that drives the same
# EF Design services dotnet-ef uses (IMigrationsScaffolder). No database is touched: each provider's model is diffed
# against that provider's snapshot. The Metadata tests fail (HasPendingModelChanges) while a model change lacks one.
#   src/Silos/Moe.Platform.Storage/Metadata/Migrations/add-migration.sh AddRunTags
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 <MigrationName>" >&2; exit 2; }
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PROJECT="$(cd "$HERE/../.." && pwd)"
ROOT="$(cd "$PROJECT/../../.." && pwd)"
TOOL="$(mktemp -d)"
trap 'rm -rf "$TOOL"' EXIT
# Same versions as the repository (Directory.Packages.props), including its NU1603 pins.
version() { sed -n "s/.*PackageVersion Include=\"$1\" Version=\"\([^\"]*\)\".*/\1/p" "$ROOT/Directory.Packages.props"; }
cat > "$TOOL/scaffold.csproj" <<EOF
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <OutputType>Exe</OutputType><TargetFramework>net10.0</TargetFramework><Nullable>enable</Nullable>
    <ImplicitUsings>enable</ImplicitUsings><NoWarn>EF1001</NoWarn>
  </PropertyGroup>
  <ItemGroup>
    <PackageReference Include="Microsoft.EntityFrameworkCore.Design" Version="$(version Microsoft.EntityFrameworkCore.Design)" />
    <PackageReference Include="Microsoft.Extensions.DependencyModel" Version="$(version Microsoft.Extensions.DependencyModel)" />
    <PackageReference Include="SQLitePCLRaw.bundle_e_sqlite3" Version="$(version SQLitePCLRaw.bundle_e_sqlite3)" />
    <PackageReference Include="SQLitePCLRaw.core" Version="$(version SQLitePCLRaw.core)" />
    <ProjectReference Include="$PROJECT/Moe.Platform.Storage.csproj" />
  </ItemGroup>
</Project>
EOF
cat > "$TOOL/Program.cs" <<'EOF'
using Microsoft.EntityFrameworkCore.Design.Internal;
using Microsoft.EntityFrameworkCore.Migrations.Design;
using Microsoft.Extensions.DependencyInjection;
using Moe.Platform.Storage.Metadata;

string name = args[0], projectDir = args[1];
foreach (var (provider, postgres) in new[] { ("Sqlite", (string?)null), ("Postgres", "Host=/design-time-only") })
{
    using var db = new PlatformDb(PlatformDbOptions.Create(postgres, Path.Combine(Path.GetTempPath(), "design-time.db")));
    var services = new DesignTimeServicesBuilder(typeof(PlatformDb).Assembly, typeof(PlatformDb).Assembly,
        new OperationReporter(null), []).Build(db);
    var scaffolder = services.GetRequiredService<IMigrationsScaffolder>();
    // The snapshot keeps its provider-prefixed name and namespace (found through ProviderMigrationsAssembly).
    var migration = scaffolder.ScaffoldMigration(name, "Moe.Platform.Storage", $"Metadata.Migrations.{provider}", "C#");
    var files = scaffolder.Save(projectDir, migration, Path.Combine(projectDir, "Metadata", "Migrations", provider));
    // A first migration gets the default snapshot name, which both providers would share (and the second save would
    // overwrite the first's file): give it the provider's prefix, as ProviderMigrationsAssembly expects.
    if (Path.GetFileName(files.SnapshotFile!) == "PlatformDbModelSnapshot.cs")
    {
        string renamed = Path.Combine(Path.GetDirectoryName(files.SnapshotFile)!, $"{provider}PlatformDbModelSnapshot.cs");
        File.WriteAllText(renamed, File.ReadAllText(files.SnapshotFile!)
            .Replace("partial class PlatformDbModelSnapshot", $"partial class {provider}PlatformDbModelSnapshot"));
        File.Delete(files.SnapshotFile);
    }
    Console.WriteLine($"{provider}: {files.MigrationFile}");
}
EOF
dotnet run --project "$TOOL/scaffold.csproj" --artifacts-path "$TOOL/artifacts" -- "$1" "$PROJECT"
