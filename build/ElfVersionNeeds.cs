// Reads and patches ELF symbol-version requirements (.gnu.version_r) with no dependencies.
// Compiled twice: by MSBuild's RoslynCodeTaskFactory (netstandard reference set, so no Span, records
// or newer APIs here) for build/TorchSharpNative.targets, and into Moe.Model with MOE_RUNTIME defined.
#nullable enable
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;

namespace Moe.Model.Backend
{
    /// <summary>One Vernaux entry: a version (e.g. GLIBCXX_3.4.32) that the file needs from a library.</summary>
    public sealed class ElfVersionNeed
    {
        public ElfVersionNeed(string file, string version, ushort flags, long flagsOffset)
        {
            File = file;
            Version = version;
            Flags = flags;
            FlagsOffset = flagsOffset;
        }

        public string File { get; }
        public string Version { get; }
        public ushort Flags { get; }
        /// <summary>File offset of vna_flags, the two bytes a weak patch changes.</summary>
        public long FlagsOffset { get; }
        public bool IsWeak => (Flags & ElfVersionNeeds.VerFlagWeak) != 0;
        public override string ToString() => File + " " + Version + (IsWeak ? " (weak)" : "");
    }

    public static class ElfVersionNeeds
    {
        public const uint ShtGnuVerdef = 0x6ffffffd;
        public const uint ShtGnuVerneed = 0x6ffffffe;
        public const ushort VerFlagBase = 0x1;
        public const ushort VerFlagWeak = 0x2;
        public const string LibStdCxx = "libstdc++.so.6";

        sealed class Section
        {
            public uint Type;
            public long Offset;
            public long Size;
            public uint Link;
            public uint Info;
        }

        /// <summary>Every version requirement of an ELF64 little-endian file, in file order.</summary>
        public static IReadOnlyList<ElfVersionNeed> Read(string path)
        {
            using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read))
            {
                var sections = ReadSections(stream, path);
                var result = new List<ElfVersionNeed>();
                foreach (var sec in sections.Where(s => s.Type == ShtGnuVerneed))
                {
                    var data = ReadAt(stream, sec.Offset, sec.Size, path);
                    var strings = LinkedStrings(stream, sections, sec, path);
                    long entry = 0;
                    for (uint i = 0; sec.Info == 0 || i < sec.Info; i++) // sh_info holds the entry count; 0 means follow the chain
                    {
                        Check(entry + 16 <= data.Length, path, "Verneed entry outside its section");
                        var count = U16(data, entry + 2);
                        var file = Str(strings, U32(data, entry + 4), path);
                        long aux = entry + U32(data, entry + 8);
                        for (var j = 0; j < count; j++)
                        {
                            Check(aux >= 0 && aux + 16 <= data.Length, path, "Vernaux entry outside its section");
                            var flags = U16(data, aux + 4);
                            result.Add(new ElfVersionNeed(file, Str(strings, U32(data, aux + 8), path), flags, sec.Offset + aux + 4));
                            var nextAux = U32(data, aux + 12);
                            if (nextAux == 0) break;
                            aux += nextAux;
                        }
                        var next = U32(data, entry + 12);
                        if (next == 0) break;
                        entry += next;
                    }
                }
                return result;
            }
        }

        /// <summary>The version names a library defines (SHT_GNU_verdef), without its own soname entry.</summary>
        public static IReadOnlyList<string> ReadDefinitions(string path)
        {
            using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read))
            {
                var sections = ReadSections(stream, path);
                var result = new List<string>();
                foreach (var sec in sections.Where(s => s.Type == ShtGnuVerdef))
                {
                    var data = ReadAt(stream, sec.Offset, sec.Size, path);
                    var strings = LinkedStrings(stream, sections, sec, path);
                    long entry = 0;
                    for (uint i = 0; sec.Info == 0 || i < sec.Info; i++) // sh_info holds the entry count; 0 means follow the chain
                    {
                        Check(entry + 20 <= data.Length, path, "Verdef entry outside its section");
                        var flags = U16(data, entry + 2);
                        long aux = entry + U32(data, entry + 12);
                        Check(aux >= 0 && aux + 8 <= data.Length, path, "Verdaux entry outside its section");
                        if ((flags & VerFlagBase) == 0) result.Add(Str(strings, U32(data, aux), path));
                        var next = U32(data, entry + 16);
                        if (next == 0) break;
                        entry += next;
                    }
                }
                return result;
            }
        }

        /// <summary>
        /// Sets VER_FLG_WEAK on each named requirement. Returns the versions it changed (already weak ones are
        /// skipped, so a second call changes nothing). The file is rewritten via a temp copy, fsync and rename,
        /// so a crash leaves either the old or the new library, and a hard link (e.g. into a package cache)
        /// keeps the original bytes. The modification time is kept so incremental copies see no change.
        /// </summary>
        public static IReadOnlyList<string> MarkWeak(string path, IEnumerable<string> versions)
        {
            var wanted = new HashSet<string>(versions, StringComparer.Ordinal);
            var needs = Read(path);
            var unknown = wanted.Where(v => needs.All(n => n.Version != v)).ToList();
            if (unknown.Count > 0)
                throw new InvalidOperationException(path + " has no version requirement " + string.Join(", ", unknown));
            var toPatch = needs.Where(n => wanted.Contains(n.Version) && !n.IsWeak).ToList();
            if (toPatch.Count == 0) return new string[0];

            var full = Path.GetFullPath(path);
            var temp = Path.Combine(Path.GetDirectoryName(full) ?? ".", "." + Path.GetFileName(full) + ".weak-" + Guid.NewGuid().ToString("N") + ".tmp");
            var mtime = System.IO.File.GetLastWriteTimeUtc(full);
            try
            {
                System.IO.File.Copy(full, temp, false); // keeps the mode bits
                using (var stream = new FileStream(temp, FileMode.Open, FileAccess.ReadWrite, FileShare.None))
                {
                    foreach (var need in toPatch)
                    {
                        var flags = (ushort)(need.Flags | VerFlagWeak);
                        stream.Position = need.FlagsOffset;
                        stream.Write(new[] { (byte)(flags & 0xff), (byte)(flags >> 8) }, 0, 2);
                    }
                    stream.Flush(true);
                }
                System.IO.File.SetLastWriteTimeUtc(temp, mtime);
                System.IO.File.Replace(temp, full, null); // rename(2) on Unix: atomic
            }
            finally
            {
                if (System.IO.File.Exists(temp)) System.IO.File.Delete(temp);
            }
            return toPatch.Select(n => n.Version).ToList();
        }

        public static IReadOnlyList<string> MarkWeak(string path, string version) => MarkWeak(path, new[] { version });

        /// <summary>Non-weak libstdc++ versions the library needs that the given libstdc++ does not define.</summary>
        public static IReadOnlyList<string> MissingStrongNeeds(string library, string libStdCxx)
        {
            var provided = new HashSet<string>(ReadDefinitions(libStdCxx), StringComparer.Ordinal);
            return Read(library)
                .Where(n => n.File == LibStdCxx && !n.IsWeak && !provided.Contains(n.Version))
                .Select(n => n.Version).Distinct().ToList();
        }

        /// <summary>All libstdc++ versions (weak or not) the library needs that the given libstdc++ lacks.</summary>
        public static IReadOnlyList<string> MissingNeeds(string library, string libStdCxx)
        {
            var provided = new HashSet<string>(ReadDefinitions(libStdCxx), StringComparer.Ordinal);
            return Read(library)
                .Where(n => n.File == LibStdCxx && !provided.Contains(n.Version))
                .Select(n => n.Version).Distinct().ToList();
        }

        /// <summary>The highest GLIBCXX_x.y.z in a list of version names, or null.</summary>
        public static string? HighestGlibcxx(IEnumerable<string> versions) =>
            versions.Where(v => v.StartsWith("GLIBCXX_", StringComparison.Ordinal) && ParseNumbers(v) != null)
                .OrderBy(v => v, Comparer<string>.Create(CompareVersions)).LastOrDefault();

        /// <summary>Orders NAME_a.b.c by name, then numerically by part.</summary>
        public static int CompareVersions(string a, string b)
        {
            var na = a.Substring(0, Math.Max(0, a.IndexOf('_')));
            var nb = b.Substring(0, Math.Max(0, b.IndexOf('_')));
            var byName = string.CompareOrdinal(na, nb);
            if (byName != 0) return byName;
            var pa = ParseNumbers(a) ?? new int[0];
            var pb = ParseNumbers(b) ?? new int[0];
            for (var i = 0; i < Math.Max(pa.Length, pb.Length); i++)
            {
                var x = i < pa.Length ? pa[i] : -1;
                var y = i < pb.Length ? pb[i] : -1;
                if (x != y) return x.CompareTo(y);
            }
            return 0;
        }

        static int[]? ParseNumbers(string version)
        {
            var parts = version.Substring(version.IndexOf('_') + 1).Split('.');
            var numbers = new int[parts.Length];
            for (var i = 0; i < parts.Length; i++)
                if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out numbers[i])) return null;
            return numbers;
        }

        /// <summary>
        /// The libstdc++.so.6 this process would use: the one already mapped (the .NET runtime links it),
        /// else LD_LIBRARY_PATH, the ldconfig cache, then the usual directories. Null if none is found.
        /// </summary>
        public static string? FindHostLibStdCxx()
        {
            foreach (var candidate in LibStdCxxCandidates())
                if (System.IO.File.Exists(candidate)) return candidate;
            return null;
        }

        static IEnumerable<string> LibStdCxxCandidates()
        {
            string[] maps;
            try { maps = System.IO.File.ReadAllLines("/proc/self/maps"); }
            catch (IOException) { maps = new string[0]; }
            catch (UnauthorizedAccessException) { maps = new string[0]; }
            foreach (var line in maps)
            {
                var slash = line.IndexOf('/');
                if (slash >= 0 && Path.GetFileName(line.Substring(slash)).StartsWith(LibStdCxx, StringComparison.Ordinal))
                    yield return line.Substring(slash).Trim();
            }
            var ldPath = Environment.GetEnvironmentVariable("LD_LIBRARY_PATH") ?? "";
            foreach (var dir in ldPath.Split(new[] { ':' }, StringSplitOptions.RemoveEmptyEntries))
                yield return Path.Combine(dir, LibStdCxx);
            foreach (var entry in LdconfigEntries())
                yield return entry;
            foreach (var dir in new[] { "/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64", "/usr/lib" })
                yield return Path.Combine(dir, LibStdCxx);
        }

        static IEnumerable<string> LdconfigEntries()
        {
            foreach (var exe in new[] { "/sbin/ldconfig", "/usr/sbin/ldconfig", "ldconfig" })
            {
                string output;
                try
                {
                    var info = new ProcessStartInfo(exe, "-p") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
                    using (var process = Process.Start(info))
                    {
                        if (process == null) continue;
                        output = process.StandardOutput.ReadToEnd();
                        process.WaitForExit();
                    }
                }
                catch (Exception e) when (e is System.ComponentModel.Win32Exception || e is IOException || e is InvalidOperationException)
                {
                    continue;
                }
                // "\tlibstdc++.so.6 (libc6,x86-64) => /lib/x86_64-linux-gnu/libstdc++.so.6"; 64-bit entries first.
                var entries = output.Split('\n').Select(l => l.Trim())
                    .Where(l => l.StartsWith(LibStdCxx + " ", StringComparison.Ordinal) && l.IndexOf("=> ", StringComparison.Ordinal) > 0)
                    .OrderBy(l => l.IndexOf("x86-64", StringComparison.Ordinal) >= 0 ? 0 : 1)
                    .Select(l => l.Substring(l.IndexOf("=> ", StringComparison.Ordinal) + 3).Trim()).ToList();
                return entries;
            }
            return new string[0];
        }

        static List<Section> ReadSections(FileStream stream, string path)
        {
            var header = ReadAt(stream, 0, 64, path);
            Check(header[0] == 0x7f && header[1] == (byte)'E' && header[2] == (byte)'L' && header[3] == (byte)'F', path, "not an ELF file");
            Check(header[4] == 2 && header[5] == 1, path, "only ELF64 little-endian is supported");
            var shoff = (long)U64(header, 0x28);
            int entsize = U16(header, 0x3A);
            long count = U16(header, 0x3C);
            Check(shoff > 0 && entsize >= 64, path, "no section header table");
            if (count == 0) count = (long)U64(ReadAt(stream, shoff, 64, path), 0x20); // e_shnum overflow convention
            Check(count <= 0xFFFFFF, path, "implausible section count");
            var table = ReadAt(stream, shoff, count * entsize, path);
            var sections = new List<Section>();
            for (long i = 0; i < count; i++)
            {
                var at = i * entsize;
                sections.Add(new Section
                {
                    Type = U32(table, at + 4),
                    Offset = (long)U64(table, at + 0x18),
                    Size = (long)U64(table, at + 0x20),
                    Link = U32(table, at + 0x28),
                    Info = U32(table, at + 0x2C),
                });
            }
            return sections;
        }

        static byte[] LinkedStrings(FileStream stream, List<Section> sections, Section sec, string path)
        {
            Check(sec.Link < sections.Count, path, "version section links to a missing string table");
            var strtab = sections[(int)sec.Link];
            return ReadAt(stream, strtab.Offset, strtab.Size, path);
        }

        static byte[] ReadAt(FileStream stream, long offset, long length, string path)
        {
            Check(offset >= 0 && length >= 0 && length <= int.MaxValue && offset + length <= stream.Length, path, "range outside the file");
            var buffer = new byte[length];
            stream.Position = offset;
            var done = 0;
            while (done < buffer.Length)
            {
                var n = stream.Read(buffer, done, buffer.Length - done);
                Check(n > 0, path, "unexpected end of file");
                done += n;
            }
            return buffer;
        }

        static string Str(byte[] table, uint offset, string path)
        {
            Check(offset < table.Length, path, "string offset outside its table");
            var end = Array.IndexOf(table, (byte)0, (int)offset);
            if (end < 0) end = table.Length;
            return Encoding.UTF8.GetString(table, (int)offset, end - (int)offset);
        }

        static ushort U16(byte[] b, long at) => (ushort)(b[at] | b[at + 1] << 8);
        static uint U32(byte[] b, long at) => (uint)(b[at] | b[at + 1] << 8 | b[at + 2] << 16 | b[at + 3] << 24);
        static ulong U64(byte[] b, long at) => U32(b, at) | (ulong)U32(b, at + 4) << 32;

        static void Check(bool ok, string path, string problem)
        {
            if (!ok) throw new InvalidDataException(path + ": " + problem);
        }
    }

#if !MOE_RUNTIME
    /// <summary>
    /// MSBuild task: in each given library, marks weak exactly the libstdc++ versions the host's libstdc++
    /// lacks, so a library built with a newer GCC loads when those symbols are referenced but never called.
    /// </summary>
    public class MarkMissingGlibcxxWeak : Microsoft.Build.Utilities.Task
    {
        [Microsoft.Build.Framework.Required]
        public Microsoft.Build.Framework.ITaskItem[] Files { get; set; } = new Microsoft.Build.Framework.ITaskItem[0];

        public override bool Execute()
        {
            var host = ElfVersionNeeds.FindHostLibStdCxx();
            if (host == null)
            {
                Log.LogMessage(Microsoft.Build.Framework.MessageImportance.Low, "MarkMissingGlibcxxWeak: no libstdc++.so.6 found on this host; nothing patched");
                return true;
            }
            foreach (var item in Files)
            {
                var file = item.ItemSpec;
                if (!System.IO.File.Exists(file)) continue;
                var missing = ElfVersionNeeds.MissingNeeds(file, host);
                if (missing.Count == 0) continue;
                var changed = ElfVersionNeeds.MarkWeak(file, missing);
                var highest = ElfVersionNeeds.HighestGlibcxx(ElfVersionNeeds.ReadDefinitions(host)) ?? "no GLIBCXX version";
                Log.LogMessage(changed.Count > 0 ? Microsoft.Build.Framework.MessageImportance.High : Microsoft.Build.Framework.MessageImportance.Low,
                    "TorchSharpNative: {0} {1} weak in {2} ({3} provides up to {4})",
                    changed.Count > 0 ? "marked" : "already marked", string.Join(", ", missing), file, host, highest);
            }
            return !Log.HasLoggedErrors;
        }
    }
#endif
}
