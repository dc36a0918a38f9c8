using System.Runtime.Versioning;
using System.Text.Json;
using Moe.Model.Backend;

namespace Moe.Model.Tests;

public class TorchBackendTests
{
    const string Needed = "GLIBCXX_3.4.32"; // what TorchSharp 0.107.0's native library asks for beyond GCC 12
    const string TorchSharpVersion = "0.107.0";

    [Theory]
    [InlineData("cpu", DeviceType.CPU, -1)]
    [InlineData("cuda", DeviceType.CUDA, 0)]
    [InlineData("cuda:0", DeviceType.CUDA, 0)]
    [InlineData("cuda:7", DeviceType.CUDA, 7)]
    [InlineData(" cuda:12 ", DeviceType.CUDA, 12)]
    public void ParseDevice_accepts_cpu_cuda_and_indexed_cuda(string text, DeviceType type, int index)
    {
        Assert.Equal(new DeviceSpec(type, index), TorchBackend.ParseDevice(text));
    }

    [Theory]
    [InlineData("")]
    [InlineData("gpu")]
    [InlineData("CPU")]
    [InlineData("cpu:0")]
    [InlineData("cuda:")]
    [InlineData("cuda:-1")]
    [InlineData("cuda:+1")]
    [InlineData("cuda:1.5")]
    [InlineData("cuda:x")]
    [InlineData("cuda:99999999999")]
    [InlineData("mps")]
    public void ParseDevice_rejects_anything_else_naming_the_value(string text)
    {
        var e = Assert.Throws<ArgumentException>(() => TorchBackend.ParseDevice(text));
        Assert.Contains($"'{text}'", e.Message);
    }

    [Fact]
    public void DeviceSpec_maps_to_torch_devices()
    {
        Assert.Equal(DeviceType.CPU, TorchBackend.ParseDevice("cpu").ToTorch().type);
        var cuda = TorchBackend.ParseDevice("cuda:3").ToTorch();
        Assert.Equal((DeviceType.CUDA, 3), (cuda.type, cuda.index));
    }

    [Fact]
    public void Host_libstdcxx_definitions_are_read_from_verdef()
    {
        var host = HostLibStdCxx();
        var defs = ElfVersionNeeds.ReadDefinitions(host);
        Assert.Contains("GLIBCXX_3.4", defs);
        Assert.Contains("CXXABI_1.3", defs);
        Assert.DoesNotContain(defs, d => d.StartsWith("libstdc++", StringComparison.Ordinal)); // the soname entry is skipped
        Assert.StartsWith("GLIBCXX_3.4.", ElfVersionNeeds.HighestGlibcxx(defs));
    }

    [Fact]
    public void Output_copy_has_the_requirement_weak_exactly_when_the_host_lacks_it()
    {
        var library = OutputLibrary();
        var needs = ElfVersionNeeds.Read(library);
        var need = Assert.Single(needs, n => n.Version == Needed);
        Assert.Equal("libstdc++.so.6", need.File);
        Assert.Equal(HostLacks(Needed), need.IsWeak);
        Assert.DoesNotContain(needs, n => n.Version != Needed && n.IsWeak); // nothing else touched
        Assert.Contains(needs, n => n.File == "libc.so.6" && n.Version.StartsWith("GLIBC_2.", StringComparison.Ordinal));
    }

    [Fact]
    [SupportedOSPlatform("linux")] // skipped elsewhere; Unix file modes are checked
    public void Patch_sets_exactly_the_weak_flag_and_changes_no_other_byte()
    {
        var dir = Directory.CreateTempSubdirectory("moe-elf-");
        try
        {
            var copy = Path.Combine(dir.FullName, "libLibTorchSharp.so");
            File.Copy(PackagedLibrary(), copy);
            var before = File.ReadAllBytes(copy);
            var mode = File.GetUnixFileMode(copy);
            var mtime = File.GetLastWriteTimeUtc(copy);
            var need = Assert.Single(ElfVersionNeeds.Read(copy), n => n.Version == Needed);
            Assert.False(need.IsWeak);
            Assert.Equal(HostLacks(Needed), ElfVersionNeeds.MissingNeeds(copy, HostLibStdCxx()).Contains(Needed));

            Assert.Equal([Needed], ElfVersionNeeds.MarkWeak(copy, Needed));

            var after = File.ReadAllBytes(copy);
            Assert.Equal(before.Length, after.Length);
            var changed = Enumerable.Range(0, before.Length).Where(i => before[i] != after[i]).ToList();
            Assert.Equal([(int)need.FlagsOffset], changed); // vna_flags is little-endian: only its low byte changes
            Assert.Equal(before[need.FlagsOffset] | ElfVersionNeeds.VerFlagWeak, after[need.FlagsOffset]);
            Assert.Equal(mode, File.GetUnixFileMode(copy));
            Assert.Equal(mtime, File.GetLastWriteTimeUtc(copy));
            Assert.Single(ElfVersionNeeds.Read(copy), n => n.IsWeak);
            Assert.Empty(ElfVersionNeeds.MissingStrongNeeds(copy, HostLibStdCxx()));

            Assert.Empty(ElfVersionNeeds.MarkWeak(copy, Needed)); // idempotent
            Assert.Equal(after, File.ReadAllBytes(copy));
            Assert.Single(Directory.GetFiles(dir.FullName)); // no temp file left behind
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void Runtime_check_rejects_an_unpatched_library_only_where_the_host_lacks_the_version()
    {
        var dir = Directory.CreateTempSubdirectory("moe-elf-");
        try
        {
            var copy = Path.Combine(dir.FullName, "libLibTorchSharp.so");
            File.Copy(PackagedLibrary(), copy);
            if (HostLacks(Needed))
            {
                var e = Assert.Throws<TorchBackendException>(() => TorchBackend.CheckLibStdCxx(copy));
                Assert.StartsWith($"libLibTorchSharp.so needs {Needed} but ", e.Message);
                Assert.EndsWith("rebuild so build/TorchSharpNative.targets marks it weak", e.Message);
                Assert.DoesNotContain('\n', e.Message);
            }
            else
            {
                TorchBackend.CheckLibStdCxx(copy);
            }
            ElfVersionNeeds.MarkWeak(copy, Needed);
            TorchBackend.CheckLibStdCxx(copy);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void Patch_refuses_unknown_versions_and_non_elf_files()
    {
        var dir = Directory.CreateTempSubdirectory("moe-elf-");
        try
        {
            var copy = Path.Combine(dir.FullName, "lib.so");
            File.Copy(OutputLibrary(), copy);
            Assert.Throws<InvalidOperationException>(() => ElfVersionNeeds.MarkWeak(copy, "GLIBCXX_9.9.9"));
            var text = Path.Combine(dir.FullName, "not-elf.so");
            File.WriteAllText(text, "this is not an ELF file, but it is long enough to hold a header........");
            Assert.Throws<InvalidDataException>(() => ElfVersionNeeds.Read(text));
            var reason = TorchBackend.ProbeLoad(text);
            Assert.NotNull(reason);
            Assert.DoesNotContain('\n', reason);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void Version_order_is_numeric()
    {
        Assert.True(ElfVersionNeeds.CompareVersions("GLIBCXX_3.4.30", "GLIBCXX_3.4.4") > 0);
        Assert.True(ElfVersionNeeds.CompareVersions("GLIBCXX_3.4", "GLIBCXX_3.4.1") < 0);
        Assert.Equal("GLIBCXX_3.4.32", ElfVersionNeeds.HighestGlibcxx(["GLIBCXX_3.4.9", "CXXABI_1.3.15", "GLIBCXX_3.4.32", "GLIBCXX_3.4.30"]));
    }

    [Fact]
    public void Initialize_cpu_runs_a_matmul_and_is_idempotent()
    {
        var device = TorchBackend.Initialize("cpu");
        Assert.Equal(DeviceType.CPU, device.type);
        Assert.Equal(DeviceType.CPU, TorchBackend.Initialize("cpu").type);
        Assert.StartsWith("cpu, libtorch ", TorchBackend.Describe());

        using var a = torch.arange(16, dtype: torch.float32).reshape(4, 4);
        using var b = torch.eye(4, dtype: torch.float32) * 2 + torch.ones(4, 4);
        using var product = torch.matmul(a, b);
        // (A (2I + 1))[i,j] = 2 A[i,j] + sum_k A[i,k]; row sums of arange(16).reshape(4,4) are 6, 22, 38, 54.
        float[] expected = [6, 8, 10, 12, 30, 32, 34, 36, 54, 56, 58, 60, 78, 80, 82, 84];
        Assert.Equal(expected, product.data<float>().ToArray());
    }

    static bool HostLacks(string version) => !ElfVersionNeeds.ReadDefinitions(HostLibStdCxx()).Contains(version);

    static string HostLibStdCxx()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "ELF checks run on Linux only");
        return ElfVersionNeeds.FindHostLibStdCxx() ?? throw new InvalidOperationException("no libstdc++.so.6 found on this Linux host");
    }

    static string OutputLibrary()
    {
        HostLibStdCxx();
        var app = AppContext.BaseDirectory;
        return new[] { Path.Combine(app, "libLibTorchSharp.so"), Path.Combine(app, "runtimes", "linux-x64", "native", "libLibTorchSharp.so") }
            .FirstOrDefault(File.Exists) ?? throw new InvalidOperationException($"libLibTorchSharp.so is not in the test output {app}");
    }

    // The unpatched original in the NuGet package folder: NUGET_PACKAGES, the folder restore recorded, or ~/.nuget/packages.
    static string PackagedLibrary()
    {
        HostLibStdCxx();
        var roots = new List<string>();
        if (Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } env) roots.Add(env);
        var assets = Path.Combine(RepoPaths.Root, "tests", "Moe.Model.Tests", "obj", "project.assets.json");
        if (File.Exists(assets))
        {
            using var json = JsonDocument.Parse(File.ReadAllText(assets));
            if (json.RootElement.TryGetProperty("packageFolders", out var folders))
                roots.AddRange(folders.EnumerateObject().Select(f => f.Name));
        }
        roots.Add(Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages"));
        var candidates = roots.Select(r => Path.Combine(r, "torchsharp", TorchSharpVersion, "runtimes", "linux-x64", "native", "libLibTorchSharp.so")).ToList();
        var found = candidates.FirstOrDefault(File.Exists);
        Assert.SkipWhen(found is null, $"unpatched libLibTorchSharp.so not found in the NuGet package folder (looked at {string.Join(", ", candidates.Distinct())})");
        return found!;
    }
}
