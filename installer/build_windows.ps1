# Build the Windows release:
#   dist\htrgui-<version>-windows-x64-<variant>-setup.exe   (Inno Setup installer, per-user, no admin needed)
#   dist\htrgui-<version>-windows-x64-<variant>.zip         (portable folder: unzip and run htrgui.exe)
#
#   powershell -ExecutionPolicy Bypass -File installer\build_windows.ps1                  # CPU build, current python
#   powershell -ExecutionPolicy Bypass -File installer\build_windows.ps1 -Venv build\venv  # clean venv, CPU torch
#   powershell -ExecutionPolicy Bypass -File installer\build_windows.ps1 -Variant cuda -Venv build\venv-cuda
#
# Needs Python 3.10+ (64-bit) and, for the .exe installer, Inno Setup 6 (winget install JRSoftware.InnoSetup).
#
# Code signing (optional; unsigned builds make SmartScreen warn "unknown publisher"): with signtool.exe (Windows
# SDK) and a code-signing certificate, set before building
#   $env:HTRGUI_SIGN_CERT = "C:\keys\htrgui.pfx"  (and $env:HTRGUI_SIGN_PASSWORD)   or a certificate thumbprint
#   $env:HTRGUI_SIGN_TIMESTAMP_URL = "http://timestamp.digicert.com"                   (the default)
# htrgui.exe and htrgui-cli.exe are signed before packaging (so the .zip carries signed programs), and Inno
# Setup signs the setup and its uninstaller. Without HTRGUI_SIGN_CERT the build says it is unsigned and goes on.
param(
    [ValidateSet("cpu", "cuda")] [string] $Variant = "cpu",
    [string] $Python = "python",
    [string] $Venv = "",
    [string] $TorchIndexUrl = ""
)
$ErrorActionPreference = "Stop"
Set-Location (Join-Path $PSScriptRoot "..")

function Invoke-Checked {
    # Native programs do not raise on failure in PowerShell: check their exit code ourselves.
    $rest = if ($args.Count -gt 1) { $args[1..($args.Count - 1)] } else { @() }
    & $args[0] @rest
    if ($LASTEXITCODE -ne 0) { throw "build_windows: '$($args -join ' ')' failed with exit code $LASTEXITCODE" }
}

if ($Venv) {
    # A clean environment keeps whatever else is installed on the build machine out of the bundle.
    if (-not (Test-Path "$Venv\Scripts\python.exe")) { Invoke-Checked $Python -m venv $Venv }
    $Python = (Resolve-Path "$Venv\Scripts\python.exe").Path
    if (-not $TorchIndexUrl) {
        $TorchIndexUrl = if ($Variant -eq "cuda") { "https://download.pytorch.org/whl/cu126" } else { "https://download.pytorch.org/whl/cpu" }
    }
    Invoke-Checked $Python -m pip install -q --upgrade pip
    Invoke-Checked $Python -m pip install -q torch --index-url $TorchIndexUrl
    Invoke-Checked $Python -m pip install -q . -r installer\requirements-build.txt
}
& $Python -m PyInstaller --version *> $null
if ($LASTEXITCODE -ne 0) { Invoke-Checked $Python -m pip install -q -r installer\requirements-build.txt }

# A CPU build must not carry several GB of CUDA libraries, and a CUDA build needs a CUDA torch.
$check = @"
import sys, torch
variant, cuda = sys.argv[1], torch.version.cuda
if variant == 'cpu' and cuda: sys.exit(f'torch {torch.__version__} is a CUDA build: use -Variant cuda or a CPU torch')
if variant == 'cuda' and not cuda: sys.exit(f'torch {torch.__version__} has no CUDA: install a CUDA torch for -Variant cuda')
print(f'build_windows: torch {torch.__version__} (CUDA {cuda}) for the {variant} build')
"@
Invoke-Checked $Python -c $check $Variant

if (-not (Get-ChildItem models\*.pt -ErrorAction SilentlyContinue)) { Write-Warning "no models\*.pt: the build ships without a model" }
Invoke-Checked $Python installer\make_icons.py
$env:HTRGUI_VARIANT = $Variant
Invoke-Checked $Python -m PyInstaller --noconfirm --clean --log-level WARN --distpath dist --workpath build\pyinstaller installer\htrgui.spec

$Name = & $Python -c "import sys; sys.path.insert(0, 'installer'); import bundle; print(bundle.artefact_name('$Variant'))"
$Version = & $Python -c "import sys; sys.path.insert(0, 'installer'); import bundle; print(bundle.app_version())"

# Smoke check of the frozen console program before packaging it.
Invoke-Checked dist\htrgui\htrgui-cli.exe --version

# Signing: signtool from PATH or the newest Windows SDK.
$SignCmd = $null
if ($env:HTRGUI_SIGN_CERT) {
    $SignTool = @((Get-Command signtool.exe -ErrorAction SilentlyContinue).Source) +
        @(Get-ChildItem "${env:ProgramFiles(x86)}\Windows Kits\10\bin\*\x64\signtool.exe" -ErrorAction SilentlyContinue |
          Sort-Object FullName -Descending | ForEach-Object { $_.FullName }) |
        Where-Object { $_ } | Select-Object -First 1
    if (-not $SignTool) { throw "build_windows: HTRGUI_SIGN_CERT is set but signtool.exe was not found (install the Windows SDK)" }
    $Timestamp = if ($env:HTRGUI_SIGN_TIMESTAMP_URL) { $env:HTRGUI_SIGN_TIMESTAMP_URL } else { "http://timestamp.digicert.com" }
    $Cert = if (Test-Path $env:HTRGUI_SIGN_CERT) {
        @("/f", $env:HTRGUI_SIGN_CERT) + $(if ($env:HTRGUI_SIGN_PASSWORD) { @("/p", $env:HTRGUI_SIGN_PASSWORD) } else { @() })
    } else { @("/sha1", $env:HTRGUI_SIGN_CERT) }  # a thumbprint of a certificate in the store
    $SignArgs = @("sign", "/fd", "SHA256", "/tr", $Timestamp, "/td", "SHA256") + $Cert
    Invoke-Checked $SignTool @SignArgs dist\htrgui\htrgui.exe dist\htrgui\htrgui-cli.exe
    Invoke-Checked $SignTool verify /pa dist\htrgui\htrgui.exe dist\htrgui\htrgui-cli.exe
    # Inno Setup calls this for the setup and its uninstaller ($f: the file to sign).
    $SignCmd = "`"$SignTool`" " + (($SignArgs | ForEach-Object { if ($_ -match '\s') { "`"$_`"" } else { $_ } }) -join " ") + ' $f'
    Write-Host "build_windows: signed with $env:HTRGUI_SIGN_CERT"
} else {
    Write-Warning "build_windows: NOT signed (set HTRGUI_SIGN_CERT to a .pfx or a certificate thumbprint to sign): SmartScreen will warn users about an unknown publisher"
}

# The portable zip. Not Compress-Archive: it fails on files and archives beyond 2 GB (the CUDA build has a
# 1+ GB library and is over 2 GB in all). 7-Zip when installed, else Windows' own tar.exe (bsdtar, zip64).
$Zip = "dist\$Name.zip"
if (Test-Path $Zip) { Remove-Item $Zip }
$SevenZip = @((Get-Command 7z.exe -ErrorAction SilentlyContinue).Source, "$env:ProgramFiles\7-Zip\7z.exe") |
    Where-Object { $_ -and (Test-Path $_) } | Select-Object -First 1
if ($SevenZip) {
    Push-Location dist
    try { Invoke-Checked $SevenZip a -tzip -mx=5 -bso0 "$Name.zip" htrgui } finally { Pop-Location }
} else {
    Invoke-Checked tar.exe -a -c -f $Zip -C dist htrgui
}

$Iscc = @(
    (Get-Command ISCC.exe -ErrorAction SilentlyContinue).Source,
    "${env:ProgramFiles(x86)}\Inno Setup 6\ISCC.exe",
    "$env:ProgramFiles\Inno Setup 6\ISCC.exe",
    "$env:LOCALAPPDATA\Programs\Inno Setup 6\ISCC.exe"
) | Where-Object { $_ -and (Test-Path $_) } | Select-Object -First 1
if ($Iscc) {
    $IsccArgs = @("/Qp", "/DAppVersion=$Version", "/DOutputBaseName=$Name-setup", "/DRepo=$((Get-Location).Path)")
    if ($SignCmd) { $IsccArgs += @("/DSign=1", "/Shtrguisign=$SignCmd") }  # SignTool=htrguisign in htrgui.iss
    Invoke-Checked $Iscc @IsccArgs installer\windows\htrgui.iss
    Get-FileHash "dist\$Name-setup.exe" -Algorithm SHA256 | ForEach-Object { "$($_.Hash.ToLower())  $Name-setup.exe" } | Set-Content "dist\$Name-setup.exe.sha256"
    Write-Host "build_windows: dist\$Name-setup.exe"
} else {
    Write-Warning "Inno Setup 6 not found: only the portable $Zip was made (winget install JRSoftware.InnoSetup)"
}
Get-FileHash $Zip -Algorithm SHA256 | ForEach-Object { "$($_.Hash.ToLower())  $Name.zip" } | Set-Content "$Zip.sha256"
Write-Host "build_windows: $Zip ($([math]::Round((Get-Item $Zip).Length / 1MB)) MB)"
