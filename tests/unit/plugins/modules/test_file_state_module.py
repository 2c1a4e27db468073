# -*- coding: utf-8 -*-
"""The file_state module on a real folder: what it reports for files and folders as wanted,
changed, missing or of the wrong kind, and that it changes nothing."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import grp
import hashlib
import ipaddress
import json
import os
import pathlib
import pwd
import sys

import pytest

try:
    import ansible_collections.mlsp.mlflow_stack  # noqa: F401  pylint: disable=unused-import
except ImportError:
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[4] / '.ansible' / 'collections'))

from ansible.module_utils.testing import patch_module_args  # noqa: E402

from ansible_collections.mlsp.mlflow_stack.plugins.modules import file_state  # noqa: E402

OWNER = pwd.getpwuid(os.getuid()).pw_name
GROUP = grp.getgrgid(os.getgid()).gr_name


def _run(capsys, files, check_mode=False):
    with patch_module_args({'files': files, '_ansible_check_mode': check_mode}):
        with pytest.raises(SystemExit) as info:
            file_state.main()
    return json.loads(capsys.readouterr().out), info.value.code


@pytest.fixture(name='tree')
def fixture_tree(tmp_path):
    (tmp_path / 'conf.d').mkdir(mode=0o750)
    os.chmod(tmp_path / 'conf.d', 0o750)
    conf = tmp_path / 'conf.d' / 'app.conf'
    conf.write_text('port = 5000\n', encoding='utf-8')
    os.chmod(conf, 0o640)
    return tmp_path


def _sha1(text):
    return hashlib.sha1(text.encode('utf-8')).hexdigest()


def test_as_wanted_and_read_only(capsys, tree):
    conf = tree / 'conf.d' / 'app.conf'
    before = conf.stat()
    result, code = _run(capsys, [
        {'path': str(tree / 'conf.d'), 'state': 'directory', 'owner': OWNER, 'group': GROUP, 'mode': '0750'},
        {'path': str(conf), 'owner': OWNER, 'group': GROUP, 'mode': '0640', 'checksum': _sha1('port = 5000\n')},
    ])
    assert code == 0 and result['changed'] is False
    assert result['outdated'] == [] and result['reasons'] == {}
    after = conf.stat()
    assert (after.st_mtime_ns, after.st_mode) == (before.st_mtime_ns, before.st_mode)
    # Neither the content nor its checksum is returned (the checksum of a file with secrets is
    # kept out of the printed arguments too).
    assert 'port = 5000' not in json.dumps(result)
    assert _sha1('port = 5000\n') not in json.dumps(result)


def test_differences_in_the_order_given(capsys, tree):
    conf = tree / 'conf.d' / 'app.conf'
    result, code = _run(capsys, [
        {'path': str(conf), 'mode': '0600', 'checksum': _sha1('port = 5001\n')},
        {'path': str(tree / 'missing.conf')},
        {'path': str(conf), 'state': 'directory'},
        {'path': str(tree / 'conf.d'), 'state': 'directory', 'owner': str(os.getuid()), 'mode': '0755'},
    ], check_mode=True)
    assert code == 0
    assert result['outdated'] == [str(conf), str(tree / 'missing.conf'), str(tree / 'conf.d')]
    assert result['reasons'][str(conf)] == ['content', 'mode', 'kind']  # both entries, once
    assert result['reasons'][str(tree / 'missing.conf')] == ['missing']
    assert result['reasons'][str(tree / 'conf.d')] == ['mode']


def test_a_symlink_is_not_its_target(capsys, tree):
    link = tree / 'link.conf'
    link.symlink_to(tree / 'conf.d' / 'app.conf')
    result, code = _run(capsys, [{'path': str(link), 'checksum': _sha1('port = 5000\n')}])
    assert code == 0
    assert result['reasons'] == {str(link): ['kind']}


def test_a_bad_mode_fails_naming_the_entry(capsys, tree):
    result, code = _run(capsys, [{'path': str(tree / 'conf.d'), 'state': 'directory', 'mode': 'u+rwx'}])
    assert code == 1 and result['failed'] is True
    assert result['msg'].startswith('Comparing files[0] (%s) failed: mode' % (tree / 'conf.d'))


def test_a_relative_path_fails_naming_the_entry(capsys, tree):
    result, code = _run(capsys, [{'path': str(tree)}, {'path': 'etc/app.conf'}])
    assert code == 1 and result['msg'] == 'Comparing files[1] (etc/app.conf) failed: the path is not absolute'


# --- certificates: real keys and certificates, made with cryptography in a temporary folder ---

def _ca(name, with_ski=True):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
               .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
               .not_valid_after(now + datetime.timedelta(days=3650))
               .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True))
    if with_ski:
        builder = builder.add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    return key, builder.sign(key, hashes.SHA256())


def _pem(obj):
    from cryptography.hazmat.primitives import serialization
    if hasattr(obj, 'private_bytes'):
        return obj.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption())
    return obj.public_bytes(serialization.Encoding.PEM)


def _issue(folder, ca, names=('db1.example.internal', 'localhost'), addresses=('127.0.0.1',), days=365, key=None):
    """A service's key and certificate, signed by CA (key, certificate), written to FOLDER."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    ca_key, ca_cert = ca
    key = key or ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    san = [x509.DNSName(n) for n in names] + [x509.IPAddress(ipaddress.ip_address(a)) for a in addresses]
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
            .issuer_name(ca_cert.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.SubjectAlternativeName(san), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    (folder / 'server.key').write_bytes(_pem(key))
    (folder / 'server.crt').write_bytes(_pem(cert))
    return key, cert


def _cert_args(folder, ca, **over):
    args = {'path': str(folder / 'server.crt'), 'private_key_path': str(folder / 'server.key'),
            'names': ['localhost', 'db1.example.internal'], 'addresses': ['127.0.0.1'],
            'ca_certificate': _pem(ca[1]).decode('ascii'), 'renew_days': 30}
    args.update(over)
    return args


def _run_certs(capsys, certificates, check_mode=False):
    with patch_module_args({'files': [], 'certificates': certificates, '_ansible_check_mode': check_mode}):
        with pytest.raises(SystemExit) as info:
            file_state.main()
    return json.loads(capsys.readouterr().out), info.value.code


@pytest.fixture(name='ca')
def fixture_ca():
    return _ca('Test CA')


def test_a_certificate_as_signed(capsys, tmp_path, ca):
    key, cert = _issue(tmp_path, ca)
    result, code = _run_certs(capsys, [_cert_args(tmp_path, ca)])
    assert code == 0 and result['changed'] is False
    state = result['certificates'][str(tmp_path / 'server.crt')]
    assert state == {'ok': True, 'reasons': [], 'renew': False, 'content': _pem(cert).decode('ascii')}
    # The private key is read for its public key only: nothing of it is returned.
    assert _pem(key).decode('ascii').splitlines()[1] not in json.dumps(result)


@pytest.mark.parametrize('change, reasons, renew', [
    ('other CA', ['authority'], False),
    ('other key', ['key'], False),
    ('names', ['names'], False),
    ('expires', ['expires'], True),
])
def test_what_makes_a_certificate_signed_again(capsys, tmp_path, ca, change, reasons, renew):
    from cryptography.hazmat.primitives.asymmetric import ec
    if change == 'other CA':
        _issue(tmp_path, _ca('Test CA'))  # the same name, another key
    elif change == 'other key':
        _issue(tmp_path, ca)
        (tmp_path / 'server.key').write_bytes(_pem(ec.generate_private_key(ec.SECP256R1())))
    elif change == 'names':
        _issue(tmp_path, ca, addresses=('127.0.0.1', '10.0.0.9'))
    else:
        _issue(tmp_path, ca, days=29)
    result, code = _run_certs(capsys, [_cert_args(tmp_path, ca)])
    assert code == 0
    state = result['certificates'][str(tmp_path / 'server.crt')]
    assert (state['ok'], state['reasons'], state['renew']) == (False, reasons, renew)
    assert state['content'].startswith('-----BEGIN CERTIFICATE-----')


def test_missing_unreadable_and_keyless(capsys, tmp_path, ca):
    (tmp_path / 'a').mkdir()
    (tmp_path / 'b').mkdir()
    (tmp_path / 'b' / 'server.crt').write_text('not a certificate\n', encoding='utf-8')
    (tmp_path / 'c').mkdir()
    _issue(tmp_path / 'c', ca)
    (tmp_path / 'c' / 'server.key').unlink()
    result, code = _run_certs(capsys, [_cert_args(tmp_path / d, ca) for d in 'abc'])
    assert code == 0
    states = result['certificates']
    assert states[str(tmp_path / 'a' / 'server.crt')] == {'ok': False, 'reasons': ['missing'], 'renew': True}
    assert states[str(tmp_path / 'b' / 'server.crt')] == {'ok': False, 'reasons': ['unreadable'], 'renew': True}
    assert states[str(tmp_path / 'c' / 'server.crt')]['reasons'] == ['key']


def test_a_ca_without_a_subject_key_identifier(capsys, tmp_path):
    # The signer then names the CA by its public key's identifier, as community.crypto's ownca does.
    ca = _ca('Test CA without SKI', with_ski=False)
    _issue(tmp_path, ca)
    result, code = _run_certs(capsys, [_cert_args(tmp_path, ca)])
    assert code == 0 and result['certificates'][str(tmp_path / 'server.crt')]['ok'] is True


def test_bad_certificate_arguments_fail_naming_the_entry(capsys, tmp_path, ca):
    _issue(tmp_path, ca)
    result, code = _run_certs(capsys, [_cert_args(tmp_path, ca, ca_certificate='not a CA')])
    assert code == 1 and result['msg'].startswith('Comparing certificates[0] failed: ca_certificate is not a PEM')
    result, code = _run_certs(capsys, [_cert_args(tmp_path, ca), _cert_args(tmp_path, ca, private_key_path='server.key')])
    assert code == 1 and result['msg'] == ('Comparing certificates[1] (%s) failed: private_key_path is not absolute'
                                           % (tmp_path / 'server.crt'))
    result, code = _run_certs(capsys, [_cert_args(tmp_path, ca, addresses=['db1'])])
    assert code == 1 and "'db1' is not an IPv4 or IPv6 address" in result['msg']


# --- units: one `systemctl show` for all of them (a stand-in systemctl on PATH) -------------

def _fake_systemctl(tmp_path, monkeypatch, script):
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    fake = bin_dir / 'systemctl'
    fake.write_text('#!/bin/sh\n' + script, encoding='utf-8')
    fake.chmod(0o755)
    monkeypatch.setenv('PATH', '%s:%s' % (bin_dir, os.environ.get('PATH', '')))
    return tmp_path / 'argv'


def _run_units(capsys, units):
    with patch_module_args({'files': [], 'units': units}):
        with pytest.raises(SystemExit) as info:
            file_state.main()
    return json.loads(capsys.readouterr().out), info.value.code


def test_units_are_read_in_one_call(capsys, tmp_path, monkeypatch):
    argv = _fake_systemctl(tmp_path, monkeypatch, 'echo "$@" >> %s\n'
                           'printf "UnitFileState=enabled\\nActiveState=active\\n\\nUnitFileState=enabled\\nActiveState=failed\\n"\n'
                           % (tmp_path / 'argv'))
    result, code = _run_units(capsys, ['minio.service', 'mlflow.service'])
    assert code == 0 and result['changed'] is False
    assert argv.read_text(encoding='utf-8') == 'show --property=UnitFileState,ActiveState -- minio.service mlflow.service\n'
    assert result['units'] == {'minio.service': {'enabled': 'enabled', 'active': 'active'},
                               'mlflow.service': {'enabled': 'enabled', 'active': 'failed'}}
    assert result['units_to_start'] == ['mlflow.service']


def test_no_units_no_systemctl(capsys, tmp_path, monkeypatch):
    argv = _fake_systemctl(tmp_path, monkeypatch, 'echo "$@" >> %s\nexit 1\n' % (tmp_path / 'argv'))
    result, code = _run_units(capsys, [])
    assert code == 0 and result['units'] == {} and result['units_to_start'] == []
    assert not argv.exists()


def test_a_failed_systemctl_fails_naming_the_units(capsys, tmp_path, monkeypatch):
    _fake_systemctl(tmp_path, monkeypatch, 'echo "Failed to connect to bus" >&2\nexit 1\n')
    result, code = _run_units(capsys, ['minio.service'])
    assert code == 1
    assert result['msg'] == ('Reading the state of the units minio.service failed: systemctl show exited 1: '
                             'Failed to connect to bus')
