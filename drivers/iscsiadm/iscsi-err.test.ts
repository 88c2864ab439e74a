import t from 'tap';
import { codeForInitiatorMessage, ISCSI_ERR, IscsiadmError, iscsiErrText } from './iscsi-err.js';

t.test('the numbers are open-iscsi include/iscsi_err.h', async (t) => {
  t.equal(ISCSI_ERR.SESS_NOT_FOUND, 2);
  t.equal(ISCSI_ERR.TRANS, 4);
  t.equal(ISCSI_ERR.LOGIN, 5);
  t.equal(ISCSI_ERR.IDBM, 6);
  t.equal(ISCSI_ERR.INVAL, 7);
  t.equal(ISCSI_ERR.TRANS_TIMEOUT, 8);
  t.equal(ISCSI_ERR.SESS_EXISTS, 15);
  t.equal(ISCSI_ERR.FATAL_LOGIN, 19);
  t.equal(ISCSI_ERR.NO_OBJS_FOUND, 21);
  t.equal(ISCSI_ERR.LOGIN_AUTH_FAILED, 24);
  t.equal(ISCSI_ERR.OP_NOT_SUPP, 27);
  t.equal(iscsiErrText(15), 'session exists');
  t.equal(iscsiErrText(19), 'encountered non-retryable iSCSI login failure');
  t.equal(iscsiErrText(99), 'unknown error');
});

t.test('libiscsi failures map to the code open-iscsi would report', async (t) => {
  // tgt refuses an initiator outside the ACL with 02/03; a wrong CHAP secret is 02/01.
  t.equal(codeForInitiatorMessage('Login Failed. Failed to log in to target. Status: Target not found(515)'), 19);
  t.equal(codeForInitiatorMessage('iSCSI: Failed to connect to LUN : Failed to log in to target. Status: Authentication failure(513)'), 24);
  t.equal(codeForInitiatorMessage('Status: Authorization failure(514)'), 24);
  t.equal(codeForInitiatorMessage('Status: Service unavailable(769)'), 5);
  t.equal(codeForInitiatorMessage('discoveryconnect_cb: connection failed : iscsi_service: socket error Connection refused(111).'), 4);
  t.equal(codeForInitiatorMessage('iscsi_service_reconnect_if_loggedin. Can not reconnect right now.'), 4);
  t.equal(codeForInitiatorMessage('login timed out after 30000 ms'), 8);
  t.equal(codeForInitiatorMessage('CHAP negotiation failed'), 24);
  t.equal(codeForInitiatorMessage('something else'), 5);
});

t.test('IscsiadmError carries the exit status and the lines to print', async (t) => {
  const e = new IscsiadmError(21, 'No records found');
  t.equal(e.status, 21);
  t.same(e.lines, ['No records found']);
  t.equal(e.code, 'COMMAND_FAILED');
  t.equal(new IscsiadmError(7, []).code, 'BAD_INPUT');
  t.equal(new IscsiadmError(7, []).message, 'invalid parameter');
});
