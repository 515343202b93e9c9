; Inno Setup 6 script of the Windows installer. Built by installer\build_windows.ps1, which passes
;   /DAppVersion=0.1.0 /DOutputBaseName=htrgui-0.1.0-windows-x64-cpu-setup /DRepo=<checkout>
; and, when signing (HTRGUI_SIGN_CERT), /DSign=1 /Shtrguisign=<signtool command with $f>.
; Installs per user by default (no administrator rights needed, as on most archive workstations); the
; dialog offers an all-users install to administrators.

#ifndef AppVersion
  #error AppVersion must be defined (/DAppVersion=...)
#endif
#ifndef Repo
  #define Repo "..\.."
#endif
#ifndef OutputBaseName
  #define OutputBaseName "htrgui-" + AppVersion + "-windows-x64-setup"
#endif

#define SystemEnv "SYSTEM\CurrentControlSet\Control\Session Manager\Environment"

[Setup]
AppId={{6C2D5E8A-9F1B-4C57-A7E3-2B8F0D4C1A93}
AppName=htrgui
AppVersion={#AppVersion}
AppVerName=htrgui {#AppVersion}
AppPublisher=htrgui contributors
DefaultDirName={autopf}\htrgui
DefaultGroupName=htrgui
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir={#Repo}\dist
OutputBaseFilename={#OutputBaseName}
SetupIconFile={#Repo}\build\icons\htrgui.ico
UninstallDisplayIcon={app}\htrgui.exe
; torch is large: solid LZMA2 roughly halves the download
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
ChangesEnvironment=yes
#ifdef Sign
; the setup and its uninstaller, signed with the command build_windows.ps1 passes as /Shtrguisign=...
SignTool=htrguisign
SignedUninstaller=yes
#endif

[InstallDelete]
; An upgrade copies the new version over the old: remove the old program files first, so that no library of an
; earlier torch/Qt stays beside the new ones (and gets loaded). Only the program's own folders: no user data
; lives in {app} (settings and models are in %APPDATA% / %LOCALAPPDATA%\htrgui).
Type: filesandordirs; Name: "{app}\_internal"
Type: files; Name: "{app}\htrgui.exe"
Type: files; Name: "{app}\htrgui-cli.exe"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"
; htrgui.exe is the windowed program and prints nothing in a terminal: in a terminal use htrgui-cli
; (htrgui-cli doctor, htrgui-cli recognize ...), which this puts on PATH.
Name: "addtopath"; Description: "Add the htrgui-cli command to PATH (for terminals and scripts: htrgui-cli doctor)"; GroupDescription: "Command line:"; Flags: unchecked

[Files]
Source: "{#Repo}\dist\htrgui\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\htrgui"; Filename: "{app}\htrgui.exe"
Name: "{group}\htrgui doctor (check this computer)"; Filename: "{cmd}"; Parameters: "/k ""{app}\htrgui-cli.exe"" doctor"
Name: "{group}\Uninstall htrgui"; Filename: "{uninstallexe}"
Name: "{autodesktop}\htrgui"; Filename: "{app}\htrgui.exe"; Tasks: desktopicon

[Registry]
; The user's PATH for a per-user install, the system's for an all-users one; removed again on uninstall
; (CurUninstallStepChanged below).
Root: HKCU; Subkey: "Environment"; ValueType: expandsz; ValueName: "Path"; ValueData: "{olddata};{app}"; Tasks: addtopath; Check: (not IsAdminInstallMode) and NeedsAddPath(ExpandConstant('{app}'))
Root: HKLM; Subkey: "{#SystemEnv}"; ValueType: expandsz; ValueName: "Path"; ValueData: "{olddata};{app}"; Tasks: addtopath; Check: IsAdminInstallMode and NeedsAddPath(ExpandConstant('{app}'))

[Run]
Filename: "{app}\htrgui.exe"; Description: "{cm:LaunchProgram,htrgui}"; Flags: nowait postinstall skipifsilent

[Code]
function PathRoot(): Integer;
begin
  if IsAdminInstallMode then Result := HKLM else Result := HKCU;
end;

function PathKey(): string;
begin
  if IsAdminInstallMode then Result := '{#SystemEnv}' else Result := 'Environment';
end;

function NeedsAddPath(Dir: string): Boolean;
var
  Path: string;
begin
  if not RegQueryStringValue(PathRoot(), PathKey(), 'Path', Path) then
  begin
    Result := True;
    exit;
  end;
  Result := Pos(';' + Uppercase(Dir) + ';', ';' + Uppercase(Path) + ';') = 0;
end;

// Uninstall: take the install folder out of PATH again (every occurrence, whatever its case or trailing backslash).
procedure RemoveFromPath(Dir: string);
var
  Path, Rest, Part, Kept: string;
  I: Integer;
begin
  if not RegQueryStringValue(PathRoot(), PathKey(), 'Path', Path) then exit;
  Rest := Path + ';';
  Kept := '';
  while Rest <> '' do
  begin
    I := Pos(';', Rest);
    Part := Copy(Rest, 1, I - 1);
    Delete(Rest, 1, I);
    if (Part <> '') and (CompareText(RemoveBackslashUnlessRoot(Part), RemoveBackslashUnlessRoot(Dir)) <> 0) then
    begin
      if Kept <> '' then Kept := Kept + ';';
      Kept := Kept + Part;
    end;
  end;
  if Kept <> Path then
    RegWriteExpandStringValue(PathRoot(), PathKey(), 'Path', Kept);
end;

procedure CurUninstallStepChanged(CurUninstallStep: TUninstallStep);
begin
  if CurUninstallStep = usPostUninstall then
    RemoveFromPath(ExpandConstant('{app}'));
end;
